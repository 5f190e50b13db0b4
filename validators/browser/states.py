"""Pages after an interaction: checking a state the page reached, and walking one page through many clicks.

The a11y and semantics checks look at the entry page as it loaded. What appears later (an opened dialog, a
menu, the next step of a form, a game-over screen) is checked here: ``check_state`` runs axe-core once, scoped
to what changed, plus the semantic rules that apply to a subtree (clickable elements that are not controls),
and names the state in every finding ("After clicking button "Rules" (#open-rules): …"). A finding already
reported for the loaded page or for an earlier state (same rule, same element) is not repeated.

``Walk`` is one isolated page a check drives through many interactions: it watches what a click changes, tells
whether the page is back in its loaded state (a cheap signature of the document and its storage), and reloads
only when it is not. A page that froze is replaced by a fresh one.
"""

from __future__ import annotations

import asyncio

from playwright.async_api import Error as PlaywrightError

from runshot.rules import Rule, Rules
from runshot.values import ERROR, Finding, truncate
from runshot.validators.checks import a11y
from runshot.validators.browser.chromium import PageLoadError, load_page
from runshot.validators.browser.context import CheckContext, CheckTimeout, PageSession
from runshot.validators.browser.domtools import js, label
from runshot.validators.browser.pool import clear_storage
from runshot.validators.checks.semantics import find_clickables

CHECK = "a11y"  # the check named in state findings unless the caller gives its own
MAX_SCOPE = 10  # changed elements handed to axe as its context
STATE_KEY = "axe_state_failures"  # ctx.info: rule -> targets reported for later states (like "axe_failures")
CLICKABLE_RULE = "semantics/clickable-not-control"
RULES = Rules(
    Rule(CLICKABLE_RULE, ERROR, "An element that appeared after an action reacts to clicks but has no role: "
         "assistive technology does not know it is a control, and often the keyboard cannot use it.",
         wcag=("2.1.1", "4.1.2")),
)

# Which of the given clickables (selectors) lie inside one of the scope elements.
_INSIDE = r"""
const [scope, sels] = arg;
const roots = scope.map((s) => { try { return document.querySelector(s); } catch (e) { return null; } }).filter(Boolean);
return sels.filter((s) => { let e = null; try { e = document.querySelector(s); } catch (err) {} return e && roots.some((r) => r.contains(e)); });
"""

# A fingerprint of the page: equal fingerprints mean it is back where it was. A hash of its DOM (attributes
# sorted, empty style/class dropped: a dialog that removes and re-adds `hidden` leaves the same page, only
# serialized in another order), its URL and its storage.
_SIGNATURE = r"""() => {
  let h = 0, n = 0;
  const add = (s) => { for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; n += s.length; };
  const root = document.documentElement;
  if (root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    let count = 0;
    for (let node = walker.currentNode; node && count < 50000; node = walker.nextNode(), count++) {
      if (node.nodeType === 3) { add('"' + node.data); continue; }
      const attrs = [];
      for (const a of node.attributes) {
        if ((a.name === 'style' || a.name === 'class') && !a.value.trim()) continue;
        attrs.push(a.name + '=' + a.value);
      }
      attrs.sort();
      add('<' + node.localName + ' ' + attrs.join(' ') + '>');
    }
  }
  let store = '';
  try { store = JSON.stringify(Object.entries(localStorage)) + JSON.stringify(Object.entries(sessionStorage)); } catch (e) {}
  add('|' + store);
  return location.href + '|' + n + ':' + h;
}"""

# Start recording what changes: which elements are shown now, and every mutation from here on.
_WATCH = r"""
const KEY = '__runshotWatch';
if (window[KEY]) { try { window[KEY].obs.disconnect(); } catch (e) {} }
const all = document.body ? Array.from(document.body.querySelectorAll('*')).slice(0, 5000) : [];
const shownBefore = new WeakSet(all.filter(RS.shown));
const added = new Set(), content = new Set(), attrs = new Set();
const obs = new MutationObserver((list) => {
  for (const m of list) {
    if (added.size + content.size + attrs.size > 2000) return;
    if (m.type === 'childList') m.addedNodes.forEach((n) => (n.nodeType === 1 ? added : content).add(n.nodeType === 1 ? n : n.parentElement));
    else if (m.type === 'characterData') content.add(m.target.parentElement);
    else attrs.add(m.target);
  }
});
obs.observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
Object.defineProperty(window, KEY, {value: {obs, shownBefore, added, content, attrs}, configurable: true, enumerable: false});
return true;
"""

# What the watch saw: the topmost elements that were added or became visible ("scope"; an element whose
# attributes changed counts when it, or something inside it, was hidden before), and those that only changed
# their text ("text").
_CHANGES = r"""
const w = window.__runshotWatch;
if (!w) return null;
w.obs.disconnect();
delete window.__runshotWatch;
const usable = (el) => el && el.nodeType === 1 && el.isConnected && el !== document.body
  && el !== document.documentElement && RS.shown(el);
const revealed = (el) => !w.shownBefore.has(el)
  || Array.from(el.querySelectorAll('*')).slice(0, 500).some((k) => !w.shownBefore.has(k) && RS.shown(k));
const shown = new Set();
for (const el of w.added) if (usable(el)) shown.add(el);
for (const el of w.attrs) if (usable(el) && revealed(el)) shown.add(el);
const texts = Array.from(w.content).filter((el) => usable(el) && !Array.from(shown).some((o) => o.contains(el)));
const topmost = (list) => list.filter((el) => !list.some((o) => o !== el && o.contains(el)));
const sels = (list) => topmost(list).slice(0, 30).map(RS.sel).filter((s) => s && !s.includes('>>'));
return {scope: sels(Array.from(shown)), text: sels(texts), url: location.href};
"""


def seen_keys(ctx: CheckContext) -> set[tuple[str, str]]:
    """(rule, target) pairs already reported on the loaded page. Repeats between the checks that walk states
    (they run side by side) are dropped by the runner, in the checks' order, so the verdict does not depend on
    which of them got there first."""
    keys: set[tuple[str, str]] = set()
    for name in ("axe_failures",):
        for rule, targets in (ctx.info.get(name) or {}).items():
            keys.update((rule, t) for t in targets)
    return keys


def not_reported_on_load(ctx: CheckContext, findings: list[Finding]) -> list[Finding]:
    """`findings` without the state findings the a11y check also made on the loaded page.

    Checks that walk states run beside the a11y check, so a state may be judged before the loaded page's axe
    results are known; callers pass their findings through this once they are done."""
    loaded = {(rule, t) for rule, targets in (ctx.info.get("axe_failures") or {}).items() for t in targets}
    return [f for f in findings if (f.rule, f.where) not in loaded]


def _remember(ctx: CheckContext, rule: str, target: str) -> None:
    ctx.info.setdefault(STATE_KEY, {}).setdefault(rule, []).append(target)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


async def check_state(
    ctx: CheckContext,
    page,
    label: str,
    changed_selector: str | list[str] | None = None,
    seen: set[tuple[str, str]] | None = None,
    *,
    check: str = CHECK,
    skip_rules: tuple[str, ...] = (),
) -> list[Finding]:
    """Accessibility findings for the state `page` is in now, each naming the state.

    `label` says how the state was reached ("after clicking button "Rules" (#open-rules)"). `changed_selector`
    (one selector or several) scopes the run to what changed; None checks the whole document. `seen` holds
    (rule, target) pairs not to report again; it is updated. When None, it starts from what the a11y check found
    on the loaded page and what earlier states reported (``ctx.info``). `check` names the check the findings
    belong to; `skip_rules` are axe rules the caller judges itself. One axe run; never raises for a page that
    went away or stopped answering (nothing is reported then).
    """
    if seen is None:
        seen = seen_keys(ctx)
    else:  # also what the a11y check, running beside this one, has reported on the loaded page since
        seen |= {(rule, t) for rule, targets in (ctx.info.get("axe_failures") or {}).items() for t in targets}
    include = [changed_selector] if isinstance(changed_selector, str) else list(changed_selector or [])
    include = [s for s in include if s][:MAX_SCOPE]
    head = _capital(label.strip())
    findings: list[Finding] = []
    try:
        result = await _axe_for_state(ctx, page, include)
    except (CheckTimeout, PlaywrightError):
        return []
    if not isinstance(result, dict) or result.get("missing"):
        return []
    for rule in result.get("violations", []):
        if rule["id"] in skip_rules:
            continue
        shown = 0
        for node in rule.get("nodes") or []:
            where = a11y.target_text(node.get("target"))
            key = (rule["id"], where)
            if key in seen:
                continue
            seen.add(key)
            _remember(ctx, *key)
            if shown >= a11y.NODES_PER_RULE:
                continue
            shown += 1
            impact = node.get("impact") or rule.get("impact") or ""
            findings.append(a11y.axe_rule(rule).finding(
                f"{head}: axe rule '{rule['id']}' ({impact or 'unrated'}): {rule.get('help', '')}", where=where,
                hint=a11y.fix_hint(rule, node), evidence=truncate(node.get("html", ""), 300), check=check))
    findings += await _clickables(ctx, page, head, include, seen, check)
    return findings


async def _axe_for_state(ctx: CheckContext, page, include: list[str]) -> dict:
    """axe-core's result for the state `page` is in, within `include`: run once for all the checks of this
    validation that reach the same state (the same document signature, the same scope), such as the dialog
    check and the sweep after clicking one dialog's opener. A run that another check started and that failed
    is made again here."""
    try:
        key = (await ctx.within(page.evaluate(_SIGNATURE), "reading the page's state"), tuple(include))
    except (CheckTimeout, PlaywrightError):
        return await a11y.run_axe(ctx, page, include)
    runs = ctx.shared.setdefault("axe_states", {})
    running = runs.get(key)
    if running is not None:
        try:
            result = await asyncio.shield(running)
            ctx.info["axe_runs_shared"] = ctx.info.get("axe_runs_shared", 0) + 1  # for the report and tests
            return result
        except asyncio.CancelledError:
            if not running.cancelled():
                raise  # this check is being stopped, not the other one
        except (CheckTimeout, PlaywrightError):
            pass
    task = asyncio.ensure_future(a11y.run_axe(ctx, page, include))
    runs[key] = task
    return await task


async def _clickables(ctx, page, head: str, include: list[str], seen: set, check: str) -> list[Finding]:
    """Elements in the changed part that react to clicks but are neither controls nor given a role."""
    if not include:
        return []  # the whole page: the semantics check judged it as loaded
    try:
        found = await find_clickables(ctx, page)
        inside = set(await ctx.within(page.evaluate(js(_INSIDE), [include, [d["sel"] for d in found]]),
                                      "placing clickable elements")) if found else set()
    except (CheckTimeout, PlaywrightError):
        return []
    out = []
    for d in found:
        if d.get("card") or d["sel"] not in inside or (CLICKABLE_RULE, d["sel"]) in seen:  # cards: a warning
            continue
        seen.add((CLICKABLE_RULE, d["sel"]))
        _remember(ctx, CLICKABLE_RULE, d["sel"])
        out.append(RULES[CLICKABLE_RULE].finding(
            f"{head}: {label(d)} reacts to clicks but is not a button or link (no role, "
                          "not reachable with the keyboard)" if d.get("tabindex") is None else
                          f"{head}: {label(d)} reacts to clicks but is not a button or link (no role)",
            where=d["sel"],
            hint='Use a <button type="button"> (or <a href> for navigation), or add role="button", '
                 'tabindex="0" and Enter/Space key handling.',
            evidence=truncate(d.get("html", ""), 300), check=check))
        if len(out) >= 5:
            break
    return out


class Walk:
    """One isolated page (its own context) that a check drives through many interactions.

    ``watch()`` before an interaction and ``changes()`` after it tell what appeared; ``settled()`` compares the
    page with its state right after loading and marks it dirty when they differ; ``restore()`` reloads a dirty
    page (storage and cookies cleared first, so it loads as fresh); ``fresh()`` replaces a page that froze.
    """

    def __init__(self, ctx: CheckContext, path: str | None = None):
        self.ctx = ctx
        self.path = path
        self.session: PageSession | None = None
        self.dirty = False
        self.reloads = 0
        self._opened = None
        self._clean = ""
        self.prelude = None  # async (page) -> None: run after every (re)load, e.g. to close a dialog open at load

    @property
    def page(self):
        return self.session.page

    @property
    def events(self):
        return self.session.events

    async def __aenter__(self) -> "Walk":
        await self._open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._close()

    async def _open(self) -> None:
        opened = self.ctx.open_session(self.path)
        self.session = await opened.__aenter__()
        self._opened = opened
        await self._loaded()

    async def _close(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            await opened.__aexit__(None, None, None)

    async def _loaded(self) -> None:  # load_page has waited for the page to settle
        if self.prelude is not None:
            try:
                await self.prelude(self.page)
            except (CheckTimeout, PlaywrightError):
                pass
        await self.rebase()

    async def rebase(self) -> None:
        """Take the page as it is now for its loaded state."""
        self._clean = await self.signature()
        self.dirty = False

    async def signature(self) -> str:
        return await self.ctx.within(self.page.evaluate(_SIGNATURE), "reading the page's state")

    async def settled(self) -> bool:
        """True when the page is back in its loaded state; otherwise it is marked for a reload."""
        try:
            same = await self.signature() == self._clean
        except (CheckTimeout, PlaywrightError):
            same = False
        self.dirty = self.dirty or not same
        return same

    async def settle_and_compare(self) -> bool:
        """`ctx.settle(page)` then `settled()`, in one round trip. A page too busy to settle raises CheckTimeout."""
        try:
            same = await self.ctx.settle_then(self.page, _SIGNATURE) == self._clean
        except PlaywrightError:  # the interaction loaded another document: compare that one
            return await self.settled()
        self.dirty = self.dirty or not same
        return same

    async def restore(self) -> None:
        """Bring a dirty page back to its loaded state (a reload; a fresh page when the reload fails)."""
        if not self.dirty:
            return
        self.reloads += 1
        try:
            await clear_storage(self.page, self.ctx.timeouts.action)
            url = self.session.url
            await load_page(self.page, url, self.ctx.timeouts, self.events)
            await self._loaded()
        except (CheckTimeout, PlaywrightError, PageLoadError):  # a page that will not reload is replaced
            await self.fresh()

    async def fresh(self) -> None:
        """Close this page's context (even if its page hangs) and open a new one."""
        await self._close()
        await self._open()

    async def watch(self) -> None:
        await self.ctx.within(self.page.evaluate(js(_WATCH)), "watching the page for changes")

    async def changes(self) -> dict | None:
        """{"scope": [what appeared], "text": [what changed only its text], "url"}; None: another document."""
        try:
            return await self.ctx.within(self.page.evaluate(js(_CHANGES)), "reading what changed")
        except PlaywrightError:
            return None

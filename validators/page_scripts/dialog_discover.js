// The body of a function run with `RS` in scope (dialogs.check_dialogs): possible dialog openers (declared ones,
// then buttons) and modal dialogs open at load.

const DLG = 'dialog,[role=dialog],[role=alertdialog]';
const isDialog = (e) => !!(e && e.matches(DLG));
const declared = [];
for (const el of document.querySelectorAll('[aria-haspopup],[aria-controls]')) {
  if (!RS.shown(el) || RS.inert(el)) continue;
  const pop = (el.getAttribute('aria-haspopup') || '').toLowerCase();
  const ids = (el.getAttribute('aria-controls') || '').split(/\s+/).filter(Boolean);
  if (pop === 'dialog' || ids.some((id) => isDialog(document.getElementById(id)))) declared.push(RS.desc(el));
}
// Neither a disclosure (aria-expanded, controlling in-flow content that holds no dialog) nor a link that only
// jumps to a visible in-flow part of the page can open a modal: those are not tried.
const inFlow = (e) => !['fixed', 'absolute'].includes(getComputedStyle(e).position);
const plain = (t) => !!t && !isDialog(t) && !t.querySelector(DLG) && inFlow(t);
const cannotOpen = (el) => {
  const ids = (el.getAttribute('aria-controls') || '').split(/\s+/).filter(Boolean);
  if (el.hasAttribute('aria-expanded') && ids.length && ids.every((id) => plain(document.getElementById(id)))) return true;
  const target = el.localName === 'a' ? RS.jumpTarget(el) : null;
  return plain(target) && RS.shown(target);
};
const buttons = Array.from(document.querySelectorAll('button,[role=button],input[type=button],a[href^="#"]'))
  .filter((e) => RS.shown(e) && !RS.inert(e) && !e.closest(DLG) && !cannotOpen(e)).slice(0, 300).map(RS.desc);
// Dialogs open at load that declare themselves modal (showModal(), or aria-modal on a dialog role).
const modal = Array.from(document.querySelectorAll(DLG)).filter((d) => RS.shown(d)
  && (d.matches(':modal') || (d.localName !== 'dialog' && (d.getAttribute('aria-modal') || '').toLowerCase() === 'true')))
  .map(RS.desc);
return {declared, buttons, modal};

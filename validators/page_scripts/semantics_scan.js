// The body of a function run with `RS` in scope and `arg` = selectors the a11y check already reported, by axe rule
// (semantics._skip_map): the page language, landmarks, h1s, and images, form controls, buttons and links
// without a name.

const axe = arg || {};
const skipSet = (rules) => {
  const s = new Set();
  for (const r of rules) for (const t of (axe[r] || [])) { try { const e = document.querySelector(t); if (e) s.add(e); } catch (err) {} }
  return s;
};
const rendered = (el) => !el.checkVisibility || el.checkVisibility({checkVisibilityCSS: true});
const ariaHidden = (el) => !!el.closest('[aria-hidden=true]');
const out = {};
const root = document.documentElement;
out.lang = root.getAttribute('lang');
out.htmlTag = (root.outerHTML || '').slice(0, (root.outerHTML || '').indexOf('>') + 1);
out.langCovered = skipSet(arg.__lang || []).has(root);
out.mains = Array.from(document.querySelectorAll('main,[role=main]')).filter(rendered).map(RS.desc);
out.h1s = Array.from(document.querySelectorAll('h1,[role=heading][aria-level="1"]'))
  .filter((e) => rendered(e) && !(e.localName === 'h1' && e.getAttribute('role') && e.getAttribute('role') !== 'heading')).map(RS.desc);
out.bodyStart = RS.html(document.body, 300);
const altSkip = skipSet(arg.__alt || []);
// Images without a text alternative: no alt (or an alt of spaces only, which is no empty alt), and elements given
// role="img" without a name. Whether a role="none" applies (not on a focusable image) is Chromium's to say.
const blankAlt = (e) => e.hasAttribute('alt') && e.getAttribute('alt') !== '' && !e.getAttribute('alt').trim();
out.images = Array.from(document.querySelectorAll('img,input[type=image],[role=img]'))
  .filter((e) => e.localName === 'img' || e.localName === 'input' ? !e.hasAttribute('alt') || blankAlt(e) : true)
  .filter((e) => rendered(e) && !ariaHidden(e) && !altSkip.has(e))
  .filter((e) => blankAlt(e) || !RS.name(e))
  .map((e) => Object.assign(RS.desc(e), {alt: e.getAttribute('alt')}));
const labelSkip = skipSet(arg.__label || []);
const controls = Array.from(document.querySelectorAll(
  'input:not([type=hidden]):not([type=button]):not([type=submit]):not([type=reset]):not([type=image]),select,textarea,' +
  '[role=textbox],[role=combobox],[role=searchbox],[role=listbox],[role=slider],[role=spinbutton],[role=checkbox],[role=radio],[role=switch]'))
  .filter((e) => rendered(e) && !ariaHidden(e) && !labelSkip.has(e));
out.unlabeled = [];
for (const el of controls) {
  if (RS.name(el)) continue;
  if (el.localName !== 'input' && el.localName !== 'select' && el.localName !== 'textarea' && RS.text(el)) continue;
  const d = RS.desc(el);
  d.placeholder = el.getAttribute('placeholder') || '';
  d.type = el.getAttribute('type') || '';
  out.unlabeled.push(d);
}
const nameSkip = skipSet(arg.__name || []);
// Rendered, even with no size (an empty link is still announced as one).
out.unnamed = Array.from(document.querySelectorAll('button,a[href],[role=button],[role=link],input[type=button],input[type=submit],input[type=reset]'))
  .filter((e) => rendered(e) && !ariaHidden(e) && !nameSkip.has(e) && !RS.name(e))
  .map(RS.desc);
return out;

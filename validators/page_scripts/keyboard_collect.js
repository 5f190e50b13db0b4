// The end of a function body run with `RS`, SNAP and the late-focus recorder in scope (keyboard walk): lists the
// controls keyboard users should reach (inside an open modal, else the page) and keeps them in
// window.__runshotKeyboard for the Tab walk.

try {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync('*,*::before,*::after{transition-duration:0s!important;transition-delay:0s!important}');
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
} catch (e) {}
if (document.activeElement && document.activeElement !== document.body && document.activeElement.blur) document.activeElement.blur();
const modal = Array.from(document.querySelectorAll('dialog,[role=dialog],[role=alertdialog]'))
  .find((d) => RS.shown(d) && (d.matches('dialog:modal') || d.getAttribute('aria-modal') === 'true'));
const scope = modal || document;
const ROLES = ['button', 'link', 'checkbox', 'radio', 'switch', 'tab', 'menuitem', 'menuitemcheckbox', 'menuitemradio',
  'option', 'treeitem', 'slider', 'spinbutton', 'textbox', 'combobox', 'searchbox', 'gridcell'];
const COMPOSITE = '[role=tablist],[role=menu],[role=menubar],[role=listbox],[role=tree],[role=treegrid],[role=grid],[role=radiogroup],[role=toolbar]';
const SEL = 'button,a[href],input:not([type=hidden]),select,textarea,summary,[tabindex],[contenteditable]:not([contenteditable=false]),'
  + 'audio[controls],video[controls],' + ROLES.map((r) => '[role=' + r + ']').join(',');
// A button Tab skips may be a pointer shortcut for a key of the widget beside it or named in its aria-controls
// (a combobox's open button: Alt+Down; a spinbutton's -/+: Down/Up). Its partner widget's selector, or ''.
const PARTNER = '[role=combobox],[role=spinbutton],[role=slider],input[type=number],input[type=range],select';
const partnerOf = (el) => {
  if (el.tabIndex >= 0 || !(el.localName === 'button' || el.getAttribute('role') === 'button'
      || (el.localName === 'input' && ['button', 'image'].includes(el.type)))) return '';
  for (const id of (el.getAttribute('aria-controls') || '').split(/\s+/).filter(Boolean)) {
    const t = document.getElementById(id);
    if (!t) continue;
    if (t.matches(PARTNER)) return RS.sel(t);
    const owner = Array.from(document.querySelectorAll('[role=combobox]')).find((c) => c !== el
      && ['aria-controls', 'aria-owns'].some((a) => (c.getAttribute(a) || '').split(/\s+/).includes(id)));
    if (owner) return RS.sel(owner);
  }
  let p = el.parentElement;
  for (let up = 0; up < 2 && p && p !== document.body; up++, p = p.parentElement) {
    const near = p.querySelectorAll(PARTNER);
    if (near.length === 1) return RS.sel(near[0]);
    if (near.length > 1) break;
  }
  return '';
};
const NATIVE = (el) => el.matches('button,a[href],input,select,textarea,summary,[contenteditable]:not([contenteditable=false])');
const list = [];
const out = [];
for (const el of scope.querySelectorAll(SEL)) {
  if (!RS.shown(el) || RS.inert(el) || el.closest('[aria-disabled=true],[aria-hidden=true]')) continue;
  const role = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
  const native = NATIVE(el);
  if (!native && !ROLES.includes(role) && el.tabIndex < 0) continue;  // a programmatic focus target, not a control
  if (el.closest('[contenteditable]:not([contenteditable=false])') && el !== el.closest('[contenteditable]')) continue;
  let group = '';
  const comp = el.parentElement && el.parentElement.closest(COMPOSITE);
  if (comp) group = RS.sel(comp);
  else if (el.localName === 'input' && el.type === 'radio' && el.name) group = 'radio:' + (el.form ? RS.sel(el.form) : '') + ':' + el.name;
  const d = RS.desc(el);
  d.index = list.length;
  d.group = group;
  d.tabindex = el.getAttribute('tabindex');
  d.tabIndex = el.tabIndex;
  d.native = native;
  d.type = String(el.type || '').toLowerCase();
  d.custom = !native && ROLES.includes(role);
  d.controls = !!(el.localName === 'video' || el.localName === 'audio') && el.controls;
  d.partner = partnerOf(el);
  d.groupRole = comp ? (comp.getAttribute('role') || '').trim().split(/\s+/)[0] : '';
  d.snap = SNAP(el);
  list.push(el);
  out.push(d);
  if (list.length >= 400) break;
}
window.__runshotKeyboard = list;
return {items: out, modal: modal ? RS.desc(modal) : null};

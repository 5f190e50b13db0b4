// The body of a function run with `RS` in scope (semantics.find_clickables): elements that react to clicks but are
// neither native controls nor given an interactive role. Uses DevTools' getEventListeners where the caller
// evaluates it with the command line API, else onclick attributes and properties.

const CLICKY = ['click', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'touchstart', 'touchend'];
const NATIVE = 'a[href],button,input,select,textarea,summary,label,option,details,audio,video,iframe,canvas,[contenteditable]:not([contenteditable=false])';
const ROLES = new Set(['button', 'link', 'checkbox', 'radio', 'switch', 'tab', 'menuitem', 'menuitemcheckbox',
  'menuitemradio', 'option', 'treeitem', 'slider', 'spinbutton', 'textbox', 'combobox', 'searchbox', 'gridcell',
  'row', 'columnheader', 'rowheader', 'scrollbar', 'listbox', 'menu', 'menubar', 'tree', 'grid', 'treegrid',
  'tablist', 'radiogroup', 'toolbar', 'dialog', 'alertdialog', 'application', 'separator']);
const hasListener = (typeof getEventListeners === 'function')
  ? (t) => { try { const l = getEventListeners(t); return CLICKY.some((k) => l[k] && l[k].length); } catch (e) { return false; } }
  : (t) => !!(t && (t.onclick || t.onmousedown || t.onpointerdown || t.onmouseup || t.onpointerup
        || (t.getAttribute && (t.hasAttribute('onclick') || t.hasAttribute('onmousedown') || t.hasAttribute('onpointerdown')))));
const all = document.body ? Array.from(document.body.querySelectorAll('*')).slice(0, 6000) : [];
const listened = new Set(all.filter(hasListener));
const globalListener = hasListener(document) || hasListener(window) || hasListener(document.body) || hasListener(document.documentElement);
const CONTAINERS = new Set(['listbox', 'menu', 'menubar', 'tree', 'grid', 'treegrid', 'tablist', 'radiogroup',
  'toolbar', 'dialog', 'alertdialog', 'application', 'separator', 'scrollbar']);
// A role given, or the one a grid gives its table's cells and rows (a role=grid table's <td> is a grid cell).
const implicitRole = (el) => {
  const t = el.localName;
  if (t !== 'td' && t !== 'th' && t !== 'tr') return '';
  const table = el.closest('table');
  const r = table ? (table.getAttribute('role') || '').trim().split(/\s+/)[0] : '';
  if (r !== 'grid' && r !== 'treegrid') return '';
  return t === 'tr' ? 'row' : t === 'td' ? 'gridcell' : el.scope === 'row' ? 'rowheader' : 'columnheader';
};
const roleOf = (e) => (e.getAttribute('role') || '').trim().split(/\s+/)[0] || implicitRole(e);
// Composite widgets whose keyboard model is the container's: one Tab stop, arrow keys within (a roving tabindex
// or aria-activedescendant). What their items do on click, the keys do too; the keyboard check judges them.
const COMPOSITES = new Set(['grid', 'treegrid', 'listbox', 'tree', 'menu', 'menubar', 'tablist', 'radiogroup',
  'toolbar']);
const managesFocus = (c) => c.hasAttribute('aria-activedescendant') || c.hasAttribute('tabindex')
  || !!c.querySelector('[tabindex],[aria-activedescendant]');
const withRole = (el) => {
  if (ROLES.has(roleOf(el))) return true;
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const r = roleOf(a);
    if (ROLES.has(r) && !CONTAINERS.has(r)) return true;  // part of a widget that has a role
    if (COMPOSITES.has(r) && managesFocus(a)) return true;
  }
  return false;
};
// Labels of form fields given by aria-labelledby: clicking one focuses its field, as a <label> does (a pointer
// shortcut; keyboard users reach the field itself).
const FIELDS = 'input,select,textarea,[role=combobox],[role=textbox],[role=searchbox],[role=listbox],[role=slider],' +
  '[role=spinbutton],[role=checkbox],[role=radio],[role=switch],[role=radiogroup]';
const fieldLabels = new Set();
for (const f of Array.from(document.querySelectorAll('[aria-labelledby]')).slice(0, 500)) {
  if (!f.matches(FIELDS)) continue;
  for (const id of (f.getAttribute('aria-labelledby') || '').split(/\s+/)) {
    const l = id && document.getElementById(id);
    if (l) fieldLabels.add(l);
  }
}
const labelLike = (el) => {
  for (let a = el; a && a !== document.body; a = a.parentElement) if (fieldLabels.has(a)) return true;
  return false;
};
const pointerTop = (el) => {
  if (getComputedStyle(el).cursor !== 'pointer') return false;
  const p = el.parentElement;
  return !(p && getComputedStyle(p).cursor === 'pointer');
};
// An empty layer over the whole viewport that closes an overlay when clicked (a modal's backdrop): a mouse
// shortcut beside Escape and the overlay's own close button, which the dialog check asks for.
const backdrop = (el) => {
  const pos = getComputedStyle(el).position;
  if (pos !== 'fixed' && pos !== 'absolute') return false;
  if (RS.text(el) || el.querySelector('img,svg,canvas,video,input,select,textarea,button,a[href]')) return false;
  const r = el.getBoundingClientRect();
  return r.width >= innerWidth * 0.9 && r.height >= innerHeight * 0.9;
};
const out = [];
for (const el of all) {
  if (out.length >= 60) break;
  if (el.closest(NATIVE) || el.closest('svg') && el.localName !== 'svg') continue;
  if (withRole(el) || labelLike(el)) continue;
  if (!RS.shown(el)) continue;
  const own = listened.has(el);
  if (own && backdrop(el)) continue;
  let delegated = false;
  if (!own) {
    if (!pointerTop(el)) continue;
    for (let a = el.parentElement; a; a = a.parentElement) if (listened.has(a)) { delegated = true; break; }
    if (!delegated && !globalListener) continue;
    // A row or card around real controls: the container's handler serves them (keyboard users use them).
    if (el.querySelector(NATIVE)) continue;
  } else {
    const inner = Array.from(el.querySelectorAll(NATIVE)).slice(0, 50);
    // A card that looks clickable as a whole (its own pointer cursor) but holds only links: its own action (pick,
    // expand) may have no keyboard way, or it may only forward to its link. Cannot tell which: a warning.
    if (inner.length && inner.every((k) => k.matches('a[href]')) && pointerTop(el) && out.length < 60) {
      const d = RS.desc(el);
      d.card = true; d.own = true; d.links = inner.length;
      out.push(d);
      continue;
    }
    if (inner.length) continue;  // a wrapper that delegates to real controls inside it
    const kids = Array.from(el.querySelectorAll('*')).slice(0, 400);
    if (kids.some((k) => !k.closest(NATIVE) && getComputedStyle(k).cursor === 'pointer' && k !== el && pointerTop(k))) continue;
  }
  const d = RS.desc(el);
  d.tabindex = el.getAttribute('tabindex');
  d.own = own;
  out.push(d);
}
return out;

// The body of a function run with `RS` in scope and `arg` = a composite widget's selector (see keyboard_composite.py).
const comp = document.querySelector(arg);
const list = window.__runshotKeyboard || [];
const rec = {reached: new Set(), moved: false, mutated: false};
window.__runshotComposite = rec;
if (!comp) return false;
const start = RS.active();
const note = (el) => {
  if (!el || !comp.contains(el)) return;
  const i = list.indexOf(el);
  if (i >= 0) rec.reached.add(i);
};
const descendant = (el) => {
  const id = el && el.getAttribute && el.getAttribute('aria-activedescendant');
  return id ? document.getElementById(id) : null;
};
const before = descendant(start);
const onFocus = (e) => {
  const t = e.composedPath()[0] || e.target;
  if (t !== start && comp.contains(t)) rec.moved = true;
  note(t);
  note(descendant(t));
};
document.addEventListener('focusin', onFocus, true);
const mo = new MutationObserver((records) => {
  for (const m of records) {
    if (m.attributeName === 'aria-activedescendant') {
      const d = descendant(m.target);
      if (d && d !== before) { rec.moved = true; note(d); }
    } else if (comp.contains(m.target)) rec.mutated = true;
  }
});
mo.observe(document.body, {subtree: true, attributes: true, childList: true, characterData: true});
rec.stop = () => { document.removeEventListener('focusin', onFocus, true); mo.disconnect(); };
return !!start && (start === comp || comp.contains(start));

// The body of a function run with `RS` in scope and `arg` = [dialog selector, opener selector or null]
// (dialogs._examine): modality, name, focus, and the page behind the open dialog.

const [dsel, osel] = arg;
const d = document.querySelector(dsel);
if (!d) return null;
const op = osel ? document.querySelector(osel) : null;
const native = d.localName === 'dialog';
const role = (d.getAttribute('role') || '').trim().split(/\s+/)[0];
const a = RS.active();
const out = {
  native, modalNative: native && d.matches(':modal'), role,
  ariaModal: (d.getAttribute('aria-modal') || '').toLowerCase() === 'true', name: '',
  focusInside: !!(a && (d === a || d.contains(a))), focused: a && a !== document.body ? RS.desc(a) : null,
  count: RS.focusables(d).length, buttons: d.querySelectorAll('button,[role=button],input[type=button],input[type=submit],input[type=reset],a[href]').length,
  exposed: [], unhidden: [],
};
const lb = (d.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
  .map((id) => document.getElementById(id)).filter(Boolean).map(RS.text).join(' ').trim();
out.name = lb || (d.getAttribute('aria-label') || '').trim() || (d.getAttribute('title') || '').trim();
if (!out.modalNative) {
  const outside = RS.focusables(document).filter((e) => !d.contains(e) && !e.contains(d));
  if (op && !outside.includes(op) && RS.shown(op) && !d.contains(op)) outside.unshift(op);
  for (const el of outside.slice(0, 12)) {
    if (RS.inert(el) || el.closest('[aria-hidden=true]')) continue;
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
    const hit = document.elementFromPoint(x, y);
    if (hit && (hit === el || el.contains(hit))) { out.exposed.push(RS.desc(el)); if (out.exposed.length >= 3) break; }
  }
  // Hidden from assistive technology: Chromium honours aria-modal on a dialog role; else inert or aria-hidden.
  if (!(out.ariaModal && (role === 'dialog' || role === 'alertdialog'))) {
    const sample = Array.from(document.querySelectorAll(RS.FOCUSABLE + ',h1,h2,h3,p,li,img'))
      .filter((e) => !d.contains(e) && !e.contains(d) && RS.shown(e)).slice(0, 40);
    for (const el of sample) {
      if (el.closest('[inert],[aria-hidden=true]')) continue;
      out.unhidden.push(RS.desc(el));
      if (out.unhidden.length >= 3) break;
    }
  }
}
return out;

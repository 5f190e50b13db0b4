// The body of a function run with `RS` in scope and `arg` = the share of the viewport an overlay must cover
// (dialogs.COVERAGE): visible dialogs, and overlays acting as modals: fixed/absolute, on top, over that share of
// the viewport (or aria-modal, or over an empty backdrop), holding something focusable, neither a dialog nor
// around one.

const DLG = 'dialog,[role=dialog],[role=alertdialog]';
const dialogs = Array.from(document.querySelectorAll(DLG)).filter(RS.shown).map(RS.desc);
const W = innerWidth, H = innerHeight;
const overlays = [];
const placed = document.body ? Array.from(document.body.querySelectorAll('*')).slice(0, 3000)
  .filter((el) => ['fixed', 'absolute'].includes(getComputedStyle(el).position) && RS.shown(el)) : [];
// A scrim: a layer over most of the viewport that is on top at a corner (a modal's backdrop). A smaller panel
// with controls that sits on top of it acts as a modal too.
const corners = [[4, 4], [W - 5, 4], [4, H - 5], [W - 5, H - 5]];
const scrims = placed.filter((el) => {
  const r = el.getBoundingClientRect();
  if (r.width < W * 0.9 || r.height < H * 0.9 || RS.text(el) || RS.focusables(el).length) return false;
  return corners.some(([x, y]) => { const t = document.elementFromPoint(x, y); return t && (t === el || el.contains(t)); });
});
for (const el of placed) {
  if (overlays.length > 20) break;
  if (el.localName === 'canvas' || el.closest(DLG) || el.closest('[aria-hidden=true]')) continue;
  if (Array.from(el.querySelectorAll(DLG)).some(RS.shown)) continue;
  if (overlays.some((o) => o.el.contains(el))) continue;  // the outermost overlay stands for its parts
  const r = el.getBoundingClientRect();
  const left = Math.max(r.left, 0), top = Math.max(r.top, 0);
  const w = Math.max(0, Math.min(r.right, W) - left), h = Math.max(0, Math.min(r.bottom, H) - top);
  const modal = (el.getAttribute('aria-modal') || '').toLowerCase() === 'true';
  const overScrim = scrims.some((b) => b !== el && !b.contains(el) && !el.contains(b));
  if (!(modal || overScrim || w * h >= arg * W * H) || !RS.focusables(el).length) continue;
  const hit = w && h ? document.elementFromPoint(left + w / 2, top + h / 2) : null;
  if (!hit || !(hit === el || el.contains(hit))) continue;  // something else is on top of it
  overlays.push({el, d: RS.desc(el)});
}
let moving = 0;
try { moving = document.getAnimations().filter((a) => a.playState === 'running').length; } catch (e) {}
return {dialogs, overlays: overlays.map((o) => o.d), moving};

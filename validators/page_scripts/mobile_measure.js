// The body of a function run with `RS` in scope at phone width (mobile.check_mobile): sideways overflow and what
// sticks out, what is painted on the first screen, and where the main landmark lies.

const W = innerWidth, H = innerHeight;
const root = document.documentElement;
const width = Math.max(root.scrollWidth, document.body ? document.body.scrollWidth : 0);
const out = {width, inner: W, culprits: [], viewportMeta: !!document.querySelector('meta[name=viewport]')};
const clips = (el) => {
  for (let a = el.parentElement; a && a !== document.body && a !== root; a = a.parentElement) {
    const ox = getComputedStyle(a).overflowX;
    if (ox !== 'visible') return true;
  }
  return false;
};
// Content WCAG 1.4.10 lets scroll in two dimensions: data tables (with header cells or a caption), images, video,
// maps, diagrams, code listings.
const EXEMPT = 'pre, code, samp, img, picture, video, canvas, svg, map, object, embed, iframe, math, [role=img], '
  + '[role=table], [role=grid], [role=math]';
const dataTable = (t) => !!t && !['presentation', 'none'].includes(t.getAttribute('role'))
  && !!t.querySelector('th, caption, [scope], [headers]');
const exempt = (el) => !!el.closest(EXEMPT) || dataTable(el.closest('table'));
if (width > W + 1 && document.body) {
  const over = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (over.length > 400) break;
    const r = el.getBoundingClientRect();
    if (r.right + scrollX <= W + 1 || r.width === 0 || r.height === 0) continue;
    if (getComputedStyle(el).position === 'fixed' && r.left >= W) continue;  // an off-canvas panel
    if (clips(el)) continue;
    over.push({el, right: r.right + scrollX, width: r.width});
  }
  // Text running out of its box (a long line in <pre>): the element holding the text is what sticks out.
  const range = document.createRange();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(), i = 0; n && i < 5000 && over.length <= 400; n = walker.nextNode(), i++) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || over.some((o) => o.el === el)) continue;
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.right + scrollX > W + 1 && r.width > 0 && !clips(el)) over.push({el, right: r.right + scrollX, width: r.width});
  }
  const set = new Set(over.map((o) => o.el));
  // The outermost elements that stick out: their parent does not stick out as far.
  const outer = over.filter((o) => !(o.el.parentElement && set.has(o.el.parentElement)
      && o.el.parentElement.getBoundingClientRect().right + scrollX >= o.right - 1));
  outer.sort((a, b) => b.right - a.right);
  const describe = (o) => Object.assign(RS.desc(o.el), {right: Math.round(o.right), w: Math.round(o.width)});
  out.culprits = outer.filter((o) => !exempt(o.el)).slice(0, 3).map(describe);
  out.exempt = outer.filter((o) => exempt(o.el)).slice(0, 3).map(describe);
}
// What is painted on the first screen: element boxes meeting the viewport, rendered (visibility, opacity,
// display, content-visibility), holding their own text or being a replaced/graphic element.
const GRAPHIC = new Set(['img', 'canvas', 'svg', 'video', 'iframe', 'object', 'embed', 'input', 'select', 'textarea',
  'button', 'meter', 'progress', 'picture']);
const painted = [];
const meets = (r) => r.width >= 1 && r.height >= 1 && r.right > 0 && r.bottom > 0 && r.left < W && r.top < H;
const rendered = (el) => !el.checkVisibility
  || el.checkVisibility({checkVisibilityCSS: true, visibilityProperty: true, checkOpacity: true, opacityProperty: true});
const textRange = document.createRange();
const textMeets = (nodes) => Array.from(nodes).some((n) => {
  if (n.nodeType !== 3 || !n.textContent.trim()) return false;
  textRange.selectNodeContents(n);
  return Array.from(textRange.getClientRects()).some(meets);
});
if (document.body) {
  // The body and every element, open shadow roots included; text directly in <body> or a shadow root counts.
  const roots = [document];
  for (let i = 0; i < roots.length && i < 200; i++) {
    for (const el of roots[i].querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  }
  const within = (r) => Array.from(r === document ? document.body.querySelectorAll('*') : r.querySelectorAll('*'));
  const all = [document.body, ...roots.flatMap(within)];
  for (let i = 0; i < all.length && i < 5000 && painted.length < 3; i++) {
    const el = all[i];
    if (['script', 'style', 'noscript', 'template', 'head', 'title'].includes(el.localName)) continue;
    const graphic = GRAPHIC.has(el.localName) || getComputedStyle(el).backgroundImage !== 'none';
    const text = textMeets(el.childNodes) || (!!el.shadowRoot && textMeets(el.shadowRoot.childNodes));
    if (!(graphic && meets(el.getBoundingClientRect())) && !text) continue;
    if (!rendered(el)) continue;
    painted.push(RS.desc(el));
  }
}
out.painted = painted;
out.bodyStart = document.body ? RS.html(document.body, 300) : '';
const main = Array.from(document.querySelectorAll('main,[role=main]')).find(RS.shown) || null;
out.main = main ? RS.desc(main) : null;
if (main) {
  const r = main.getBoundingClientRect();
  out.rect = [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)];
  out.inView = meets(r);
  out.sideways = r.right <= 0 || r.left >= W || r.bottom <= 0;  // not where vertical scrolling goes
  const oy = (e) => e ? getComputedStyle(e).overflowY : 'visible';
  const locked = ['hidden', 'clip'].includes(oy(root)) || ['hidden', 'clip'].includes(oy(document.body));
  out.canScroll = !locked && Math.max(root.scrollHeight, document.body.scrollHeight) > H + 1;
}
return out;

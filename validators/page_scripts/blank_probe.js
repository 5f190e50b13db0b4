// Whether the page shows anything (runtime.check_blank): text whose own boxes have a size on the page (in the
// document or an open shadow root, wherever its parent is, <body> included), a media/form element with a size,
// or an element showing a CSS background image.

() => {
  const roots = [document];
  for (let i = 0; i < roots.length && i < 200; i++) {
    for (const el of roots[i].querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  }
  const rendered = (el) => !el.checkVisibility || el.checkVisibility({ visibilityProperty: true, opacityProperty: true });
  const sized = (r) => r.width >= 2 && r.height >= 2 && r.right > 0 && r.bottom > 0;
  const shown = (el) => rendered(el) && el.getClientRects().length > 0 && sized(el.getBoundingClientRect());
  const range = document.createRange();
  const textShown = (node) => {
    const owner = node.parentElement || (node.parentNode && node.parentNode.host);
    if (!owner || ["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "TITLE"].includes(owner.tagName)) return false;
    if (!rendered(owner)) return false;
    range.selectNodeContents(node);
    return Array.from(range.getClientRects()).some(sized);
  };
  const MEDIA = "canvas, svg, img, video, iframe, object, embed, input, textarea, select, button, meter, progress";
  let text = 0, media = 0, background = 0;
  for (const root of roots) {
    const start = root === document ? (document.body || document.documentElement) : root;
    const walker = document.createTreeWalker(start, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node && !text; node = walker.nextNode()) {
      if (node.textContent.trim() && textShown(node)) text = 1;
    }
    media += Array.from(root.querySelectorAll(MEDIA)).filter(shown).length;
    if (text || media) break;
  }
  if (!text && !media) {
    const all = [document.documentElement, ...roots.flatMap((r) => Array.from(r.querySelectorAll('*')))];
    background = all.slice(0, 3000).filter((el) => /url\(/.test(getComputedStyle(el).backgroundImage)
      && (el === document.documentElement || el === document.body || shown(el))).length;
  }
  const body = document.body;
  return { text, media, background, html: body ? body.outerHTML.slice(0, 3000) : "" };
}

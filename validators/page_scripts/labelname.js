// Elements named by aria-label or aria-labelledby that show text: the pieces of their visible text, in order.
// Each piece: {text, br, first, last, size, doubt}: `br` when a <br> comes before it, the boxes [left, top, right,
// bottom] of its first and last line, its font size, and `doubt` naming why the piece may not be seen as text
// (clipped to nothing, off screen, transparent, an icon font, a ligature drawn as one glyph), "" when it is
// plainly visible text.
// Text hidden for sure (display: none, visibility: hidden, no box) is left out.
function labelTargets(RS, limit) {
  const ICON_FONT = /icon|symbol|awesome|glyph|fontello|material|ionic|feather|dashicon|octicon|^["']?fa[-\s"']|^["']?fa$/i;
  const failedFont = (family) => {
    const first = family.split(',')[0].trim().replace(/^["']|["']$/g, '');
    if (!document.fonts) return false;
    for (const f of document.fonts) {
      if (f.family.replace(/^["']|["']$/g, '') === first && f.status === 'error') return true;
    }
    return false;
  };
  const clipped = (rect, p) => {
    for (let a = p; a && a.nodeType === 1; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.clipPath && s.clipPath !== 'none') return 'clipped by clip-path';
      if (s.clip && s.clip !== 'auto') return 'clipped by clip';
      if (s.opacity === '0') return 'opacity 0';
      if (s.overflow !== 'visible' || s.overflowX !== 'visible' || s.overflowY !== 'visible') {
        const b = a.getBoundingClientRect();
        const w = Math.min(rect.right, b.right) - Math.max(rect.left, b.left);
        const h = Math.min(rect.bottom, b.bottom) - Math.max(rect.top, b.top);
        if (w < 2 || h < 2) return 'clipped by an overflow: hidden box';
        if (w < rect.width - 1 || h < rect.height - 1) return 'cut off by an overflow: hidden box';
      }
    }
    return '';
  };
  const CONTROL = 'a[href],button,input,select,textarea,summary,[tabindex],[contenteditable],[role=button],' +
    '[role=link],[role=checkbox],[role=radio],[role=switch],[role=tab],[role=menuitem],[role=option],[role=textbox]';
  const doubtOf = (t, p, rects, el) => {
    const inner = p.closest(CONTROL);
    if (inner && inner !== el && el.contains(inner)) return 'the text of another control inside it';
    const s = getComputedStyle(p);
    const fam = s.fontFamily || '';
    if (ICON_FONT.test(fam.split(',')[0].trim())) return 'drawn with an icon font (' + fam.slice(0, 60) + ')';
    if (failedFont(fam)) return 'its font (' + fam.slice(0, 60) + ') did not load';
    if (parseFloat(s.fontSize) < 4) return 'font-size ' + s.fontSize;
    if (/rgba\([^)]*,\s*0\)$|^transparent$/.test(s.color)) return 'transparent text';
    const word = t.data.trim();
    const box = rects[0];
    if (/^[A-Za-z_]{3,}$/.test(word) && rects.length === 1 && box.width <= parseFloat(s.fontSize) * 1.05) {
      return 'drawn as one glyph (an icon ligature)';
    }
    const doc = document.documentElement;
    for (const r of rects) {
      if (r.right <= 0 || r.bottom <= 0 || r.left >= Math.max(doc.scrollWidth, innerWidth)) return 'placed off screen';
      const c = clipped(r, p);
      if (c) return c;
    }
    return '';
  };
  const pieces = (el) => {
    const out = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
    let brSince = false;
    for (let n = walker.nextNode(); n && out.length < 200; n = walker.nextNode()) {
      if (n.nodeType === 1) {
        if (n.localName === 'br') brSince = true;
        continue;
      }
      const p = n.parentElement;
      if (!p || p.closest('script,style,template,noscript')) continue;
      if (!p.checkVisibility({checkVisibilityCSS: true}) || getComputedStyle(p).visibility !== 'visible') continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0 && r.height > 0);
      if (!rects.length) continue;
      const blank = !n.data.trim();
      const box = (r) => [r.left, r.top, r.right, r.bottom];
      out.push({text: n.data, br: brSince, first: box(rects[0]), last: box(rects[rects.length - 1]),
        size: parseFloat(getComputedStyle(p).fontSize) || 16, doubt: blank ? '' : doubtOf(n, p, rects, el)});
      brSince = false;
    }
    return out;
  };
  const found = [];
  // Widgets that may take their name from their content (Chromium has the last word on the role).
  const WIDGETS = new Set(['button', 'checkbox', 'gridcell', 'link', 'menuitem', 'menuitemcheckbox', 'menuitemradio',
    'option', 'radio', 'switch', 'tab', 'treeitem']);
  const widget = (el) => {
    const role = (el.getAttribute('role') || '').trim().split(/\s+/)[0].toLowerCase();
    if (role) return WIDGETS.has(role);
    return el.matches('a[href],button,td,th');
  };
  for (const el of Array.from(document.querySelectorAll('[aria-label],[aria-labelledby]')).slice(0, 2000)) {
    if (found.length >= limit) break;
    if (!widget(el)) continue;
    if (!RS.shown(el) || !(el.innerText || '').trim()) continue;
    const parts = pieces(el);
    if (!parts.some((x) => x.text.trim())) continue;
    const d = RS.desc(el);
    d.parts = parts;
    d.labelledby = el.hasAttribute('aria-labelledby') && !!(el.getAttribute('aria-labelledby') || '').trim();
    found.push(d);
  }
  return found;
}

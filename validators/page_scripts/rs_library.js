// Defines `RS` (selectors, names, visibility) inside each function runshot evaluates (domtools.JS_LIB).
// Keep it small: it travels with every call.

const RS = (() => {
  const esc = (s) => (window.CSS && CSS.escape) ? CSS.escape(s) : String(s).replace(/[^\w-]/g, '\\$&');
  function sel(el) {
    if (!el || el.nodeType !== 1) return '';
    const parts = [];
    let node = el;
    while (node && node.nodeType === 1) {
      const root = node.getRootNode();
      if (node.id && root.querySelectorAll('#' + esc(node.id)).length === 1) { parts.unshift('#' + esc(node.id)); break; }
      const tag = node.localName;
      if (tag === 'html' || tag === 'body') { parts.unshift(tag); break; }
      let part = tag;
      const parent = node.parentElement;
      if (parent) {
        const same = Array.from(parent.children).filter((c) => c.localName === tag);
        if (same.length > 1) part += ':nth-of-type(' + (same.indexOf(node) + 1) + ')';
      }
      parts.unshift(part);
      if (!parent && root.host) { parts.unshift(sel(root.host) + ' >>'); break; }
      node = parent;
    }
    return parts.join(' > ').replace(' >> >', ' >>');
  }
  function html(el, n) {
    if (!el || el.nodeType !== 1) return '';
    let s = el.outerHTML || '';
    n = n || 240;
    if (s.length > n) {
      const open = s.slice(0, s.indexOf('>') + 1);
      s = open.length >= n ? open.slice(0, n) + '…' : s.slice(0, n) + '…';
    }
    return s.replace(/\s+/g, ' ');
  }
  function shown(el) {
    if (!el || el.nodeType !== 1 || !el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({checkVisibilityCSS: true, checkOpacity: false})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function inert(el) {
    return !!(el.closest && (el.closest('[inert]') || (el.matches(':disabled'))));
  }
  function text(el) { return ((el && (el.innerText || el.textContent)) || '').replace(/\s+/g, ' ').trim(); }
  function nameText(el) {  // text that names an element: content hidden with aria-hidden does not count
    if (!el || !el.querySelector || !el.querySelector('[aria-hidden=true]')) return text(el);
    const copy = el.cloneNode(true);
    copy.querySelectorAll('[aria-hidden=true]').forEach((e) => e.remove());
    return (copy.textContent || '').replace(/\s+/g, ' ').trim();
  }
  function generated(el) {  // CSS content such as .close::before { content: "×" } also names an element
    return ['::before', '::after'].map((p) => getComputedStyle(el, p).content)
      .filter((c) => c && c !== 'none' && c !== 'normal').map((c) => c.replace(/^["']|["']$/g, '')).join(' ').trim();
  }
  function byIds(ids) {
    return (ids || '').split(/\s+/).filter(Boolean).map((id) => document.getElementById(id))
      .filter(Boolean).map((e) => text(e) || (e.getAttribute('aria-label') || '')).join(' ').trim();
  }
  function name(el) {
    if (!el || el.nodeType !== 1) return '';
    let n = byIds(el.getAttribute('aria-labelledby'));
    if (n) return n;
    n = (el.getAttribute('aria-label') || '').trim();
    if (n) return n;
    if (el.labels && el.labels.length) {
      n = Array.from(el.labels).map(nameText).join(' ').trim();
      if (n) return n;
    }
    const tag = el.localName;
    if (tag === 'img' || (tag === 'input' && el.type === 'image')) { n = (el.getAttribute('alt') || '').trim(); if (n) return n; }
    if (tag === 'input' && ['button', 'submit', 'reset'].includes(el.type)) {
      n = (el.value || (el.type === 'submit' ? 'Submit' : el.type === 'reset' ? 'Reset' : '')).trim(); if (n) return n;
    }
    const textual = ['button', 'a', 'summary', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'legend', 'caption', 'label', 'option', 'li', 'td', 'th'];
    const r = (el.getAttribute('role') || '').trim();
    if (textual.includes(tag) || ['button', 'link', 'tab', 'menuitem', 'option', 'checkbox', 'radio', 'switch', 'heading', 'treeitem', 'cell'].includes(r)) {
      n = nameText(el);
      if (!n) {
        n = Array.from(el.querySelectorAll('img[alt],[aria-label],svg title')).filter((e) => !e.closest('[aria-hidden=true]'))
          .map((e) => e.getAttribute('alt') || e.getAttribute('aria-label') || e.textContent).join(' ').trim();
      }
      if (!n) n = generated(el);
      if (n) return n;
    }
    n = (el.getAttribute('title') || '').trim();
    return n;
  }
  function tabbable(el) {
    if (!shown(el) || inert(el)) return false;
    if (el.tabIndex < 0) return false;
    const tag = el.localName;
    if (tag === 'a' && !el.hasAttribute('href') && !el.hasAttribute('tabindex')) return false;
    return true;
  }
  const FOCUSABLE = 'a[href],button,input:not([type=hidden]),select,textarea,summary,iframe,audio[controls],video[controls],[contenteditable]:not([contenteditable=false]),[tabindex]';
  function focusables(root) {
    return Array.from((root || document).querySelectorAll(FOCUSABLE)).filter(tabbable);
  }
  function active() {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a;
  }
  // The element a link only jumps to on this page (#id; not a #/ or #! route, which runs code), else null.
  function jumpTarget(el) {
    let u;
    try { u = new URL(el.getAttribute('href') || '', location.href); } catch (e) { return null; }
    if (u.origin !== location.origin || u.pathname !== location.pathname || u.search !== location.search) return null;
    if (u.hash.length < 2 || /^#[!/]/.test(u.hash)) return null;
    try { return document.getElementById(decodeURIComponent(u.hash.slice(1))); } catch (e) { return null; }
  }
  function desc(el) {
    if (!el || el.nodeType !== 1) return {sel: '', tag: '', name: '', html: ''};
    return {sel: sel(el), tag: el.localName, role: el.getAttribute('role') || '', name: name(el).slice(0, 80), html: html(el)};
  }
  return {sel, html, shown, inert, text, name, tabbable, focusables, active, jumpTarget, desc, FOCUSABLE};
})();

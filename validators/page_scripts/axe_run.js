// Runs axe on the whole document, or only on the elements the given selectors find (a state that changed), and
// notes what axe-core itself fetches while it runs (see a11y.run_axe).

async ([include, options]) => {
  if (!window.axe || typeof window.axe.run !== 'function') return {missing: true};
  let context = document;
  if (include && include.length) {
    const nodes = [];
    for (const s of include) { try { const e = document.querySelector(s); if (e) nodes.push(e); } catch (err) {} }
    if (!nodes.length) return {violations: []};
    context = {include: nodes};
  }
  let rec = window.__runshotOwnRequests;
  if (!rec) {
    rec = {active: 0, urls: []};
    Object.defineProperty(window, '__runshotOwnRequests', {value: rec, configurable: true, enumerable: false});
    const ours = () => /runshot-axe-core\.js|eval at evaluate \(:\d+:\d+\)/.test(String(new Error().stack));
    const nativeOpen = XMLHttpRequest.prototype.open;
    try {
      XMLHttpRequest.prototype.open = function open(method, url) {
        try {
          if (rec.active > 0 && ours()) {
            const abs = new URL(String(url), location.href).href;
            if (!performance.getEntriesByName(abs).length) rec.urls.push(abs);
          }
        } catch (e) {}
        return nativeOpen.apply(this, arguments);
      };
    } catch (e) {}
  }
  rec.active += 1;
  let result;
  try { result = await window.axe.run(context, options); } finally { rec.active -= 1; }
  return {
    own: rec.urls.splice(0, rec.urls.length),
    version: window.axe.version || '',
    incomplete: (result.incomplete || []).map((v) => ({
      id: v.id, help: v.help || '', tags: v.tags || [],
      nodes: v.nodes.slice(0, 1).map((n) => ({target: n.target, html: n.html || ''})),
    })),
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact || '', help: v.help || '', helpUrl: v.helpUrl || '', tags: v.tags || [],
      nodes: v.nodes.map((n) => ({
        target: n.target, html: n.html || '', impact: n.impact || '', summary: n.failureSummary || '',
      })),
    })),
  };
}

// What a user could fill in and submit on this page: each form with a field to type into, and each text input
// outside any form (a todo list's "What needs to be done?"), in document order. Facts only: the caller decides
// what to type, what to leave alone and how to submit.
//
// Called as formTargets(RS, limit), RS being the helper library runshot sends with every call (domtools.JS_LIB).
function formTargets(RS, limit) {
  const TEXTUAL = new Set(['text', 'email', 'number', 'tel', 'url', 'search', 'date', 'time', 'datetime-local',
    'month', 'week', 'password']);
  const FIELD = new Set(['input', 'select', 'textarea']);
  const usable = (el) => RS.shown(el) && !RS.inert(el) && !el.readOnly
    && !el.closest('[aria-disabled=true],[aria-hidden=true]');
  const textual = (el) => el.localName === 'textarea' || (el.localName === 'input' && TEXTUAL.has(el.type));
  const attr = (el, name) => el.getAttribute(name);

  function field(el) {
    const tag = el.localName;
    return {
      sel: RS.sel(el), tag, type: tag === 'input' ? el.type : tag, name: attr(el, 'name') || '', id: el.id || '',
      label: RS.name(el).slice(0, 80), placeholder: (attr(el, 'placeholder') || '').slice(0, 80),
      autocomplete: attr(el, 'autocomplete') || '', inputmode: attr(el, 'inputmode') || '',
      min: attr(el, 'min'), max: attr(el, 'max'), step: attr(el, 'step'),
      maxlength: el.maxLength > 0 ? el.maxLength : null, required: !!el.required, value: el.value || '',
      checked: !!el.checked, textual: textual(el), usable: usable(el),
      options: tag === 'select' ? Array.from(el.options).filter((o) => !o.disabled).map((o) => o.value).slice(0, 20) : null,
    };
  }

  // The button Enter would press: the form's first submit button (its formaction and formtarget apply).
  function defaultButton(form) {
    return Array.from(form.elements).find((e) => (e.localName === 'button' && e.type === 'submit')
      || (e.localName === 'input' && (e.type === 'submit' || e.type === 'image'))) || null;
  }

  function formTarget(form) {
    const fields = Array.from(form.elements).filter((e) => FIELD.has(e.localName) && e.type !== 'hidden');
    if (!fields.some((e) => textual(e) && usable(e))) return null;
    const button = defaultButton(form);
    const action = button && button.hasAttribute('formaction') ? button.formAction : form.action;
    const target = button && button.hasAttribute('formtarget') ? button.formTarget : form.target;
    const method = button && button.hasAttribute('formmethod') ? button.formMethod : form.method;
    return {
      kind: 'form', anchor: form, sel: RS.sel(form), name: RS.name(form) || (attr(form, 'aria-label') || ''),
      fields: fields.map(field), submit: button && usable(button) ? RS.desc(button) : null,
      action, method, target: target || '', html: RS.html(form),
    };
  }

  // A button placed with an input outside any form ("Add" next to the field): the first one after it within
  // its nearest containers.
  function nearbyButton(input) {
    let box = input.parentElement;
    for (let depth = 0; box && box !== document.body && depth < 3; depth++, box = box.parentElement) {
      const after = Array.from(box.querySelectorAll('button,[role=button],input[type=button]'))
        .filter((b) => input.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
      const found = after.find(usable);
      if (found) return RS.desc(found);
    }
    return null;
  }

  const out = [];
  for (const form of document.forms) {
    const t = formTarget(form);
    if (t) out.push(t);
  }
  for (const el of document.querySelectorAll('input,textarea')) {
    if (el.form || !textual(el) || !usable(el)) continue;
    out.push({kind: 'input', anchor: el, sel: RS.sel(el), name: '', fields: [field(el)], submit: nearbyButton(el),
      action: '', method: '', target: '', html: RS.html(el)});
  }
  out.sort((a, b) => (a.anchor.compareDocumentPosition(b.anchor) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  // A word the page shows in its lists or tables: a search for it finds something.
  let word = '';
  for (const el of document.querySelectorAll('main li, main td, li, td, h3, option')) {
    if (el.closest('nav,header,footer') || !RS.shown(el)) continue;
    const m = RS.text(el).match(/[A-Za-z]{4,}/);
    if (m) { word = m[0]; break; }
  }
  return {targets: out.slice(0, limit).map(({anchor, ...rest}) => rest), total: out.length, word};
}

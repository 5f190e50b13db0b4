"""A small counter app and a model answer that carries it, shared by the batch and gallery tests."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>{title}</h1>
<button type="button" id="inc">Increment</button>
<p role="status" id="out">0</p>
</main><script src="app.js"></script>{extra}</body></html>
"""
JS = """let n = 0;
document.getElementById('inc').addEventListener('click', () => {
  n += 1;
  document.getElementById('out').textContent = String(n);
});
"""
BREAKAGE = "<script>notDefinedAnywhere();</script>"


def answer(title: str, broken: bool = False) -> str:
    """A model answer with the counter app titled `title`; `broken` adds a script that throws at load."""
    extra = BREAKAGE if broken else ""
    return (f"Here it is.\n\n### index.html\n```html\n{PAGE.format(title=title, extra=extra)}```\n\n"
            f"### app.js\n```js\n{JS}```\n")

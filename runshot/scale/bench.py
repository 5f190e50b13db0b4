"""A benchmark: a suite of specs × models × modes, one run each, and what test-time compute buys per model.

- `load_suite(args, folder)` -> spec files: files, folders of *.md, or JSONL files of prompts (one object a line
  with "instruction" or "prompt", and "id"; WebGen-Bench's test set is one), each prompt written to
  `folder/<id>.md` so every run has a spec file like any other;
- `parse_model(text)` -> (name, base URL or None) from `NAME` or `NAME=URL`;
- `plan_bench(specs, models, modes)` -> the jobs, named `<spec>--<model>--<mode>`;
- `rows(entries)` -> per model and mode: pass rate, tokens per pass, seconds per pass, errors left, lift over
  one-shot (passes ÷ one-shot passes of the same model); `table(rows)` prints them;
- `SharedAnswers`: an ask function answering each distinct request (messages, temperature, seed) once per spec
  and model, and replaying it to the other modes, which are still charged for it in full.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from rich.table import Table

from runshot.errors import UsageError
from runshot.loop.modes import MODES
from runshot.scale.batch import Job, slug, spec_stem
from runshot.scale.batchjson import BENCH_FILE  # noqa: F401 (the benchmark's JSON, importable from here)
from runshot.spec import spec_path


def parse_model(text: str) -> tuple[str, str | None]:
    """'NAME' or 'NAME=URL' (the model NAME at the OpenAI-compatible endpoint URL)."""
    name, sep, url = text.partition("=")
    name, url = name.strip(), url.strip()
    if not name or (sep and not url):
        raise UsageError(f"--model {text}: expected NAME or NAME=URL")
    return name, url or None


def prompts_of(path: Path) -> list[tuple[str, str]]:
    """(id, prompt) of every line of a JSONL suite."""
    found = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise UsageError(f"{path}:{number}: not a JSON object") from None
        prompt = item.get("instruction") or item.get("prompt") if isinstance(item, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            raise UsageError(f"{path}:{number}: no \"instruction\" or \"prompt\" text")
        found.append((str(item.get("id") or f"{path.stem}-{number}"), prompt.strip()))
    return found


def load_suite(args: list[str], folder: Path, limit: int | None = None) -> list[Path]:
    """Spec files for the suite; a JSONL's prompts become `folder/<id>.md` (an existing file of the same text
    is reused, a different one is never overwritten). `limit` keeps the first N of each JSONL."""
    specs: list[Path] = []
    for arg in args:
        p = Path(arg)
        if p.is_file() and p.suffix == ".jsonl":
            for ident, prompt in prompts_of(p)[:limit]:
                specs.append(_prompt_file(folder, slug(ident), prompt + "\n"))
        else:
            specs += spec_path(arg, "not found (bench takes spec files, folders of them, or a JSONL of prompts)")
    if not specs:
        raise UsageError("the suite is empty")
    return list(dict.fromkeys(specs))


def _prompt_file(folder: Path, stem: str, text: str) -> Path:
    path = folder / f"{stem}.md"
    if path.exists():
        if path.read_text(encoding="utf-8") != text:
            raise UsageError(f"{path}: holds another prompt; use another RUNS_DIR")
        return path
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def plan_bench(spec_paths: list[Path], models: list[tuple[str, str | None]], modes: list[str]) -> list[Job]:
    """Every spec × model × mode, sorted by folder name `<spec>--<model>--<mode>`."""
    stems: dict[str, Path] = {}
    for p in spec_paths:
        if spec_stem(p) in stems:
            raise UsageError(f"two specs would share the run folder {spec_stem(p)!r}: {stems[spec_stem(p)]} and {p}")
        stems[spec_stem(p)] = p
    names: dict[str, str] = {}
    for name, _ in models:
        if slug(name) in names.values() or name in names:
            raise UsageError(f"--model {name}: given twice (or its folder name {slug(name)!r} clashes)")
        names[name] = slug(name)
    jobs = [Job(spec_path=path, model=name, name=f"{stem}--{names[name]}--{mode}", mode=mode, base_url=url)
            for stem, path in stems.items() for name, url in models for mode in modes]
    return sorted(jobs, key=lambda j: j.name)


def bench_entry(entry: dict, job: Job) -> dict:
    """A batch project entry with the benchmark's fields: the mode, and the model as the benchmark names it."""
    return {**entry, "mode": job.mode, "model": job.model}


def rows(entries: list[dict]) -> list[dict]:
    """One row per model and mode (in MODES order): the benchmark's figures."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for e in entries:
        groups.setdefault((e.get("model") or "", e.get("mode") or ""), []).append(e)
    out = []
    order = {m: i for i, m in enumerate(MODES)}
    for (model, mode), items in sorted(groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))):
        passes = sum(1 for e in items if e.get("passed"))
        tokens = sum(int(e.get("tokens") or 0) for e in items)
        seconds = sum(float(e.get("seconds") or 0) for e in items)
        base = [e for e in entries if (e.get("model") or "") == model and e.get("mode") == "one-shot"]
        base_passes = sum(1 for e in base if e.get("passed"))
        out.append({
            "model": model, "mode": mode, "runs": len(items), "passed": passes,
            "pass_rate": round(passes / len(items), 4),
            "tokens": tokens, "tokens_per_pass": round(tokens / passes) if passes else None,
            "seconds": round(seconds, 3), "seconds_per_pass": round(seconds / passes, 1) if passes else None,
            "errors_left": sum(int(e.get("errors") or 0) for e in items),
            "run_errors": sum(1 for e in items if e.get("status") == "error"),
            "lift": round(passes / base_passes, 3) if base and base_passes else None,
        })
    return out


def table(bench_rows: list[dict], console) -> None:
    """The rows as a rich table on `console`."""
    t = Table(title="per model and mode", title_justify="left")
    for col in ("model", "mode", "passed", "pass rate", "tokens/pass", "s/pass", "errors left", "lift"):
        t.add_column(col, justify="left" if col in ("model", "mode") else "right")
    for r in bench_rows:
        t.add_row(r["model"], r["mode"], f"{r['passed']}/{r['runs']}", f"{r['pass_rate'] * 100:.0f} %",
                  "—" if r["tokens_per_pass"] is None else str(r["tokens_per_pass"]),
                  "—" if r["seconds_per_pass"] is None else f"{r['seconds_per_pass']:.1f}",
                  str(r["errors_left"]), "—" if r["lift"] is None else f"{r['lift']:.2f}×")
    console.print(t)


class SharedAnswers:
    """An ask function that answers each distinct (messages, temperature, seed) once and replays it after.

    Unseeded requests get seed 1 (plus `seed_base`), so the same request means the same sample. Replayed
    answers are returned whole (their tokens count in full); `replayed` and `replayed_seconds` say how many and
    how much model time they stood for."""

    def __init__(self, ask, default_temperature: float | None, enabled: bool = True):
        self.ask, self.default_temperature, self.enabled = ask, default_temperature, enabled
        self.answers: dict[str, object] = {}
        self.asking: dict[str, threading.Event] = {}  # requests being asked now
        self.lock = threading.Lock()
        self.seed_base = 0
        self.replayed = 0
        self.replayed_seconds = 0.0

    def __call__(self, messages, on_progress=None, temperature=None, seed=None):
        return self.answer(messages, on_progress, temperature, seed)[0]

    def answer(self, messages, on_progress=None, temperature=None, seed=None) -> tuple[object, bool]:
        """(the answer, whether it was replayed). A request already being asked waits for that answer."""
        temperature = self.default_temperature if temperature is None else temperature
        seed = self.seed_base + (1 if seed is None else seed)
        key = json.dumps([messages, temperature, seed], sort_keys=True)
        if not self.enabled:
            return self.ask(messages, on_progress, temperature=temperature, seed=seed), False
        with self.lock:
            waiting = self.asking.get(key)
            first = waiting is None and key not in self.answers
            if first:
                self.asking[key] = threading.Event()
        if waiting is not None:
            waiting.wait()
        if not first:
            with self.lock:
                answer = self.answers.get(key)
                if answer is not None:
                    self.replayed += 1
                    self.replayed_seconds += answer.seconds
                    return answer, True
            return self.ask(messages, on_progress, temperature=temperature, seed=seed), False  # the first failed
        try:
            answer = self.ask(messages, on_progress, temperature=temperature, seed=seed)
            with self.lock:
                self.answers[key] = answer
            return answer, False
        finally:
            with self.lock:
                self.asking.pop(key).set()


class RunAnswers:
    """One run's view of a SharedAnswers: what it replayed, so its seconds can be charged in full."""

    def __init__(self, shared: SharedAnswers):
        self.shared = shared
        self.replayed = 0
        self.replayed_seconds = 0.0

    def __call__(self, messages, on_progress=None, temperature=None, seed=None):
        answer, replayed = self.shared.answer(messages, on_progress, temperature, seed)
        if replayed:
            self.replayed += 1
            self.replayed_seconds += answer.seconds
        return answer


class Sharing:
    """Per spec and model, one SharedAnswers; per run, a RunAnswers over it (`wrap(job, ask)`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.shared: dict[tuple, SharedAnswers] = {}
        self.runs: dict[str, RunAnswers] = {}

    def wrap(self, job: Job, ask, temperature: float | None = None):
        with self.lock:
            key = (str(job.spec_path), job.model)
            if key not in self.shared:
                self.shared[key] = SharedAnswers(ask, temperature)
            if job.name not in self.runs:
                self.runs[job.name] = RunAnswers(self.shared[key])
            return self.runs[job.name]

    def charge(self, entry: dict) -> dict:
        """The entry with the model seconds of its replayed answers added, and how many there were."""
        view = self.runs.get(entry["project"])
        if view is None or not view.replayed:
            return entry
        return {**entry, "seconds": round(float(entry.get("seconds") or 0) + view.replayed_seconds, 3),
                "answers_replayed": view.replayed}

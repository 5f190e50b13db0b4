"""Secrets never leave runshot: a base URL with user:password@ and ?api-key=…, and the API key, appear in no output.

The end-to-end test drives the real CLI (`new`, `batch`, `merge`, `gallery`, `check`) against the scripted
OpenAI-compatible server over real HTTP, real Chromium and real git, then searches every byte it printed or wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest

from counterapp import answer
from fakeopenai import FakeOpenAI
from runshot.redact import RedactingStream, redact_data, redact_text, redact_url, strip_query, url_secrets

PASSWORD = "pa55word"
QUERY_TOKEN = "SEKRET"
API_KEY = "sk-test-key-4f2b9c1e-never-shown"
SECRETS = (PASSWORD, QUERY_TOKEN, API_KEY)
SPEC = "---\ntitle: Counter\n---\nA page with an Increment button and a status count.\n"


# ---------------------------------------------------------------- the functions


def test_redact_url_masks_user_info_and_sensitive_query_values():
    assert redact_url("http://user:pa55word@127.0.0.1:8080/v1?api-key=SEKRET") == "http://***@127.0.0.1:8080/v1?api-key=***"
    assert redact_url("https://h.test/v1?api_key=a&token=b&access_token=c&sig=d&signature=e&password=f&secret=g"
                      "&x-amz-signature=h&client_secret=i&api-version=2024-02-01") == (
        "https://h.test/v1?api_key=***&token=***&access_token=***&sig=***&signature=***&password=***&secret=***"
        "&x-amz-signature=***&client_secret=***&api-version=2024-02-01")
    assert redact_url("https://user@h.test/v1") == "https://***@h.test/v1"
    assert redact_url("https://api.openai.com/v1") == "https://api.openai.com/v1"  # nothing secret: unchanged
    assert redact_url("http://[::1]:9/v1?key=z") == "http://[::1]:9/v1?key=***"
    assert redact_url(None) is None and redact_url("") == ""


def test_redact_text_scrubs_urls_inside_text_and_known_secrets():
    text = (f"cannot reach http://user:{PASSWORD}@host.test/v1?api-key={QUERY_TOKEN} (401); key {API_KEY}; "
            f"the password alone: {PASSWORD}; fine: http://127.0.0.1:5000/index.html")
    out = redact_text(text, secrets=[PASSWORD, API_KEY])
    for secret in SECRETS:
        assert secret not in out, out
    assert "http://***@host.test/v1?api-key=***" in out
    assert "http://127.0.0.1:5000/index.html" in out
    assert redact_text("an sk-abcdefghijkl key") == "an sk-*** key"
    data = redact_data({"a": [f"x {API_KEY}", {"u": f"http://u:{PASSWORD}@h/"}], "n": 3}, [API_KEY])
    assert API_KEY not in json.dumps(data) and PASSWORD not in json.dumps(data) and data["n"] == 3


def test_url_helpers():
    assert sorted(url_secrets(f"http://user:{PASSWORD}@h/v1?api-key={QUERY_TOKEN}&v=1")) == sorted(
        [PASSWORD, "user", QUERY_TOKEN])
    assert strip_query("http://u:p@h/v1?api-key=K&v=1") == ("http://u:p@h/v1", {"api-key": "K", "v": "1"})


def test_redacting_stream_redacts_what_is_written(tmp_path: Path):
    target = tmp_path / "log.txt"
    with target.open("w") as fh:
        stream = RedactingStream(fh, [API_KEY])
        stream.write(f"key={API_KEY} url=http://a:{PASSWORD}@h/\n")
        stream.flush()
    assert API_KEY not in target.read_text() and PASSWORD not in target.read_text()


# ---------------------------------------------------------------- every output, end to end


def run_cli(*args: str, env_extra: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RUNSHOT_MODEL"))}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "runshot", *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=cwd)


def secret_url(fake: FakeOpenAI) -> str:
    host = fake.base_url.split("//", 1)[1].split("/", 1)[0]
    return f"http://user:{PASSWORD}@{host}/v1?api-key={QUERY_TOKEN}"


def everything_under(folder: Path) -> str:
    """Every file's bytes under `folder`, plus the full git history (patches) of every repository in it."""
    chunks = [p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()]
    for dot_git in folder.rglob(".git"):
        if dot_git.is_dir():
            chunks.append(git.Repo(dot_git.parent).git.log("--all", "-p", "--format=%H %an %ae%n%B"))
    return "\n".join(chunks)


def assert_clean(text: str, what: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {what}"


def test_no_secret_in_any_output(tmp_path: Path):
    spec = tmp_path / "counter.md"
    spec.write_text(SPEC)
    # new and batch each ask three times to derive checks from the spec (it has none) and once for the project.
    with FakeOpenAI(*[answer("Counter")] * 8) as fake:
        url = secret_url(fake)
        out = tmp_path / "out"
        proc = run_cli("new", str(spec), "-o", str(out), "--base-url", url, "--model", "scripted",
                       "--api-key", API_KEY, "--checks", "runtime")
        assert proc.returncode == 0, proc.stderr
        # The scripted server did answer, with the token as a query parameter and the user info as Basic auth.
        assert fake.chat_requests and all(r.path == "/v1/chat/completions" for r in fake.chat_requests)
        assert_clean(proc.stdout + proc.stderr, "new's console")
        assert "http://***@" in proc.stderr.splitlines()[0]  # the first line names the endpoint, redacted
        written = everything_under(out)
        assert "transcript" in {p.name for p in (out / ".runshot").iterdir()}
        assert_clean(written, "OUT (files, transcript, git history)")
        report = json.loads((out / ".runshot" / "report.json").read_text())
        assert report["model"]["base_url"].startswith("http://***@") and "api-key=***" in report["model"]["base_url"]

        runs = tmp_path / "runs"
        proc = run_cli("batch", str(spec), "-o", str(runs), "--model", "scripted", "--checks", "runtime",
                       env_extra={"OPENAI_BASE_URL": url, "OPENAI_API_KEY": API_KEY})
        assert proc.returncode == 0, proc.stderr
        assert_clean(proc.stdout + proc.stderr, "batch's console")
        assert_clean(everything_under(runs), "the batch's runs and batch.json")
        assert (runs / "batch.json").is_file()

    merged = tmp_path / "merged.json"
    proc = run_cli("merge", str(runs), "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    assert_clean(merged.read_text() + proc.stdout + proc.stderr, "merge output")

    site = tmp_path / "site"
    proc = run_cli("gallery", str(runs), str(out), "-o", str(site), "--no-mobile")
    assert proc.returncode == 0, proc.stderr
    pages = list(site.rglob("*.html"))
    assert pages
    assert_clean(everything_under(site) + proc.stdout + proc.stderr, "the gallery")


def test_check_outputs_redact_urls_with_credentials(tmp_path: Path):
    """A page that logs a URL with credentials: JSON, JUnit, summary and console show it redacted."""
    app = tmp_path / "app"
    app.mkdir()
    leaky = f"http://user:{PASSWORD}@api.example.test/v1?token={QUERY_TOKEN}"
    (app / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Leaky</title></head>'
        f'<body><main><h1>Leaky</h1></main><script>console.error("cannot reach {leaky}");</script></body></html>')
    paths = {k: tmp_path / f"out.{k}" for k in ("json", "xml", "md")}
    proc = run_cli("check", str(app), "--checks", "runtime", "--json", str(paths["json"]), "--junit",
                   str(paths["xml"]), "--summary", str(paths["md"]), env_extra={"OPENAI_API_KEY": API_KEY})
    assert proc.returncode == 1, proc.stderr  # the console error is an error finding
    assert "cannot reach http://***@api.example.test/v1?token=***" in proc.stderr
    for kind, path in paths.items():
        text = path.read_text()
        assert "api.example.test" in text, kind  # the finding is there, its credentials are not
        assert_clean(text, kind)
    assert_clean(proc.stdout + proc.stderr, "check's console")


@pytest.mark.parametrize("argv", [["--api-key", API_KEY], [f"--api-key={API_KEY}"]])
def test_error_lines_never_echo_the_key(tmp_path: Path, argv: list[str]):
    proc = run_cli("new", "a counter", "-o", str(tmp_path / "o"), "--base-url",
                   f"ftp://user:{PASSWORD}@h/v1", *argv)
    assert proc.returncode == 2
    assert "--base-url must start with http" in proc.stderr
    assert_clean(proc.stdout + proc.stderr, "a usage error")


def test_endpoint_repr_and_errors_redact_the_url():
    from runshot.settings.config import resolve_endpoint
    from runshot.errors import UsageError

    endpoint = resolve_endpoint("m", f"https://user:{PASSWORD}@h.test/v1?token={QUERY_TOKEN}", API_KEY, env={},
                                config={})
    assert_clean(repr(endpoint), "Endpoint's repr")
    with pytest.raises(UsageError) as err:
        resolve_endpoint("m", f"ftp://user:{PASSWORD}@h.test/v1", None, env={}, config={})
    assert_clean(err.value.message, "the usage error")

"""PakNER demo: find people, places and organisations in Urdu, Shahmukhi, Sindhi and Pashto text.

Run locally:   python spaces/pakner-demo/app.py      (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT)
As a Space:    the same file, unchanged (README.md header: sdk gradio, app_file app.py).

Configuration (environment):
  PAKNER_MODEL        default model: folder (PyTorch or ONNX) or Hub id (else the flagship
                      build/models/pakner-e5-small, else build/models/demo from `make demo`; on
                      the Hub, as a Space, the first model of this Space's README header)
  PAKNER_MODELS       more choices for the model menu, comma-separated
  PAKNER_MAX_CHARS    longest text accepted (default 5000)
  PAKNER_MAX_LINES    most lines/rows tagged from an uploaded file (default 1000)
  PAKNER_MAX_UPLOAD_MB  largest upload accepted, refused by Gradio before it is stored (default 2)
  PAKNER_CONCURRENCY  requests run at the same time (default 2); the rest wait in the queue
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
try:
    import hubkit  # noqa: F401  (installed: pip install hubkit, or the git URL in requirements.txt)
except ImportError:  # running from a checkout without installing it
    sys.path.insert(0, str(REPO_ROOT))

import gradio as gr
import yaml

from hubkit.data.labels import entity_spans
from hubkit.languages import LANGUAGES
from hubkit.serve.langid import detect
from hubkit.serve.tagger import CSV_COLUMNS, Tagger, default_model, split_lines, tagged_lines, write_results

MAX_CHARS = int(os.environ.get("PAKNER_MAX_CHARS", "5000"))
MAX_LINES = int(os.environ.get("PAKNER_MAX_LINES", "1000"))
UPLOAD_LINES_PER_STEP = 200  # the progress bar moves every 200 lines; fewer would pad more
MAX_UPLOAD_MB = float(os.environ.get("PAKNER_MAX_UPLOAD_MB", "2"))  # Gradio refuses larger uploads before storing them
CONCURRENCY = int(os.environ.get("PAKNER_CONCURRENCY", "2"))
AUTO = "Auto"
LANG_NAMES = {"urdu": "Urdu", "shahmukhi": "Shahmukhi Punjabi", "sindhi": "Sindhi", "pashto": "Pashto"}
COLORS = {"PER": "#f97316", "LOC": "#22c55e", "ORG": "#3b82f6"}
TABLE_HEADERS = ["text", "type", "score", "start", "end"]

EXAMPLES = [
    ["وزیر اعظم عمران خان نے لاہور میں پاکستان مسلم لیگ کے جلسے سے خطاب کیا ۔ اس کے بعد وہ کراچی روانہ ہو گئے ۔", AUTO],
    ["بلھے شاہ قصور وچ رہندے سن تے اوہناں دا کلام سارے پنجاب وچ مشہور اے ۔ پنجاب یونیورسٹی لہور وچ اے ۔", AUTO],
    ["شاهه عبداللطيف ڀٽائي سنڌ جو وڏو شاعر هو . سنڌ يونيورسٽي ڄامشورو ۾ آهي ۽ ڪراچي سنڌ جو وڏو شهر آهي .", AUTO],
    ["حامد کرزی د افغانستان ولسمشر و او په کابل کې اوسېده . ملګري ملتونه په نړۍ کې لوی سازمان دی .", AUTO],
]


def readme_models() -> list[str]:
    """The `models:` list of this Space's README header (what the Hub links the Space to)."""
    try:
        text = (HERE / "README.md").read_text(encoding="utf-8")
        header = yaml.safe_load(text.split("---")[1]) if text.startswith("---") else {}
        return [str(m) for m in (header or {}).get("models", [])]
    except (OSError, IndexError, yaml.YAMLError):
        return []


NO_MODEL = ("**No model to tag with yet.** Train one and start again: `make demo` (about 10 minutes: it "
            "writes `build/models/demo`), or name a model folder or Hub id: "
            "`PAKNER_MODEL=build/models/pakner-e5-small make space`.")


def model_choices() -> list[str]:
    """The model menu: PAKNER_MODEL or a local model, PAKNER_MODELS; the README header's models
    only when running as a Hub Space (SPACE_ID is set there), where they can be loaded."""
    extra = [m.strip() for m in os.environ.get("PAKNER_MODELS", "").split(",") if m.strip()]
    header = readme_models() if os.environ.get("SPACE_ID") else []
    found = [default_model(REPO_ROOT), *extra, *header]
    return list(dict.fromkeys(m for m in found if m))  # unique, in order


_taggers: dict[str, Tagger] = {}
_load_lock = threading.Lock()


def get_tagger(name: str) -> Tagger:
    """Load a model once; a model that cannot be loaded gives a message the user can act on."""
    if not name:
        raise gr.Error(NO_MODEL.replace("**", "").replace("`", ""))
    with _load_lock:
        if name not in _taggers:
            try:
                _taggers[name] = Tagger.from_pretrained(name)
            except Exception as err:  # noqa: BLE001 - any load failure is shown, not a stack trace
                raise gr.Error(f"Could not load the model '{name}': {str(err)[:400]}. Name another with "
                               "PAKNER_MODEL=<folder or Hub id>, or train one with `make demo`.")
        return _taggers[name]


def check_text(text: str | None) -> str:
    text = text or ""
    if not text.strip():
        raise gr.Error("Empty input: type or paste some Urdu, Shahmukhi, Sindhi or Pashto text first.")
    if len(text) > MAX_CHARS:
        raise gr.Error(f"The text is too long: {len(text):,} characters, the limit is {MAX_CHARS:,}. "
                       "Split it, or upload it as a file (one text per line).")
    if not has_arabic_script(text):
        raise gr.Error(NOT_OURS)
    return text


NOT_OURS = ("This text has no Arabic-script letters, so it is not Urdu, Shahmukhi, Sindhi or Pashto "
            "(the model tags those four only).")


def has_arabic_script(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufeff"
               for ch in text)


def language_of(text: str, choice: str) -> tuple[str, str]:
    """(language, how it was chosen) for the status line."""
    if choice and choice != AUTO:
        return choice.lower(), "chosen"
    return detect(text).lang, "detected"


def detect_language(text: str) -> str:
    """Markdown naming the detected language (updates as the user types)."""
    if not (text or "").strip():
        return ""
    if not has_arabic_script(text):
        return "Detected language: **none of the four** (no Arabic-script letters)"
    return f"Detected language: **{LANG_NAMES[detect(text).lang]}**"


def tag_text(text: str, language: str = AUTO, model: str | None = None):
    """Tag one text -> (highlighted text, entity table, status)."""
    text = check_text(text)
    model = model or (model_choices() or [""])[0]
    lang, how = language_of(text, language)
    entities = get_tagger(model).tag(text)
    highlight = {"text": text, "entities": [{"entity": e.type, "start": e.start, "end": e.end} for e in entities]}
    table = [[e.text, e.type, e.score, e.start, e.end] for e in entities]
    counts = ", ".join(f"{t} {sum(e.type == t for e in entities)}" for t in COLORS)
    status = (f"**{len(entities)}** entities ({counts}) · language: {LANG_NAMES[lang]} ({how}) · "
              f"model: `{model}`")
    return highlight, table, status


def read_upload(path: str) -> list[str]:
    """Texts of an uploaded TXT (one per line) or CSV (a `text` column)."""
    name = Path(path).name
    size = Path(path).stat().st_size
    if size > MAX_UPLOAD_MB * 2**20:  # before reading any of it
        raise gr.Error(f"{name}: {size / 2**20:.1f} MB, the limit is {MAX_UPLOAD_MB:g} MB per file.")
    try:
        raw = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise gr.Error(f"{name}: not UTF-8 text ({err.reason} at byte {err.start}).")
    if name.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(raw, newline=""))  # a quoted cell may hold line breaks
        if "text" not in (reader.fieldnames or []):
            raise gr.Error(f"{name}: no 'text' column (columns: {', '.join(reader.fieldnames or []) or 'none'}).")
        texts = [row["text"] or "" for row in reader]
    else:
        texts = split_lines(raw)  # as `hubkit tag` reads a file
    if not any(t.strip() for t in texts):
        raise gr.Error(f"{name}: the file has no text.")
    if len(texts) > MAX_LINES:
        raise gr.Error(f"{name}: {len(texts):,} texts, the limit is {MAX_LINES:,} per file.")
    too_long = [i for i, t in enumerate(texts, 1) if len(t) > MAX_CHARS]
    if too_long:
        raise gr.Error(f"{name}: text {too_long[0]} has {len(texts[too_long[0] - 1]):,} characters, "
                       f"the limit is {MAX_CHARS:,}.")
    return texts


def tag_file(file, model: str | None = None, progress=gr.Progress()):
    """Tag every line/row of an uploaded file -> (CSV of entities, status)."""
    if not file:
        raise gr.Error("Upload a .txt file (one text per line) or a .csv file with a 'text' column first.")
    texts = read_upload(file if isinstance(file, str) else file.name)
    model = model or (model_choices() or [""])[0]
    tagger = get_tagger(model)
    out = tempfile.NamedTemporaryFile("w", suffix=".csv", prefix="pakner-entities-", delete=False,
                                      encoding="utf-8", newline="")
    n = 0
    with out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        steps = lambda starts: progress.tqdm(starts, desc="tagging")  # noqa: E731
        for line_no, text, sentences in tagged_lines(tagger, texts, steps, lines_per_chunk=UPLOAD_LINES_PER_STEP):
            write_results(out, "csv", line_no, text, sentences, writer)  # the rows `hubkit tag --format csv` writes
            n += sum(len(entity_spans(s.tags)) for s in sentences)
    return out.name, f"**{n}** entities in {len(texts)} texts · model: `{model}`"


# Right-to-left fields in a font with every Urdu/Sindhi/Pashto letter (ہ ے ڪ ټ ...), when installed.
CSS = """
#input-text textarea, #highlighted .textfield, #entity-table [data-col="0"] span {
  direction: rtl;
  font-family: "Noto Naskh Arabic", "Noto Sans Arabic", "Noto Nastaliq Urdu", "Jameel Noori Nastaleeq", serif;
  font-size: 1.1rem;
}
"""


def build_demo() -> gr.Blocks:
    choices = model_choices()
    with gr.Blocks(title="PakNER: NER for Urdu, Shahmukhi, Sindhi and Pashto") as demo:
        gr.Markdown(
            "# PakNER\nFind **people (PER)**, **places (LOC)** and **organisations (ORG)** in Urdu, "
            "Shahmukhi Punjabi, Sindhi and Pashto text. The language is detected from the script's letters "
            "and function words; one multilingual model tags all four.")
        if not choices:
            gr.Markdown(NO_MODEL, elem_id="no-model")
        with gr.Row():
            with gr.Column(scale=1):
                text = gr.Textbox(label="Text", lines=6, rtl=True, elem_id="input-text",
                                  placeholder="یہاں اردو، شاہ مکھی، سندھی یا پشتو متن لکھیں")
                detected = gr.Markdown(elem_id="detected-language", label="language")
                with gr.Row():
                    language = gr.Radio([AUTO, *(l.capitalize() for l in LANGUAGES)], value=AUTO, label="Language")
                    model = gr.Dropdown(choices, value=choices[0] if choices else None, label="Model",
                                        allow_custom_value=False)
                button = gr.Button("Find entities", variant="primary", elem_id="tag-button")
                gr.Examples(EXAMPLES, inputs=[text, language], label="Examples (one per language)")
            with gr.Column(scale=1):
                status = gr.Markdown(elem_id="status", label="status")
                highlighted = gr.HighlightedText(label="Entities", color_map=COLORS, show_legend=True,
                                                 combine_adjacent=False, rtl=True, elem_id="highlighted")
                table = gr.Dataframe(headers=TABLE_HEADERS, datatype=["str", "str", "number", "number", "number"],
                                     label="Entity table (start/end: character offsets into the text)",
                                     interactive=False, elem_id="entity-table")
        with gr.Accordion("Tag a file (TXT: one text per line, or CSV with a 'text' column)", open=False):
            with gr.Row():
                upload = gr.File(label="Upload", file_types=[".txt", ".csv"], type="filepath")
                result = gr.File(label="Entities (CSV)", interactive=False)
            file_status = gr.Markdown(label="status")
            file_button = gr.Button("Tag the file", elem_id="file-button")
        gr.Markdown(f"Limits: {MAX_CHARS:,} characters per text, {MAX_LINES:,} texts and {MAX_UPLOAD_MB:g} MB "
                    "per file.")

        button.click(tag_text, [text, language, model], [highlighted, table, status], api_name="tag")
        text.submit(tag_text, [text, language, model], [highlighted, table, status], api_visibility="private")
        text.change(detect_language, text, detected, api_name="detect_language", queue=False,
                    trigger_mode="always_last")
        file_button.click(tag_file, [upload, model], [result, file_status], api_name="tag_file")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    return demo


demo = build_demo()

if __name__ == "__main__":
    demo.launch(css=CSS, footer_links=["api", "gradio"], max_file_size=int(MAX_UPLOAD_MB * 2**20))

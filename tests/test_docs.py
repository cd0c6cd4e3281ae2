"""The documentation stays a front page plus pages inside the project.

README.md stays a short front page; every relative link in it and in docs/
resolves; and no code, document, test, `--help` text or expected-output JSON
refers to something outside the project: notes of the build machine
(`../shared`, `REFERENCES.md`), issue numbers, sessions, or a build
machine's paths. The checker is tested on planted strings, so a failure of
the scan means a real reference, not a blind checker.
"""

import dataclasses
import importlib
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_MAX_LINES = 300

# Out-of-project references: (name, pattern). `session` is TensorFlow 1's
# word too: `tf.compat.v1.Session`, `InteractiveSession` (capitalised) and a
# variable named `session` (`session.run(...)`, `as session:`) are allowed.
FORBIDDEN = (
    ('../shared', re.compile(r'\.\./shared')),
    ('REFERENCES.md', re.compile(r'REFERENCES\.md')),
    ('issue number', re.compile(r'\bissues?\s*(?:#\s*\d+|\d+\b)', re.I)),
    ('the issue', re.compile(r"\bthe issue's|\bissue targets?\b", re.I)),
    ('session', re.compile(r"(?<![\w.])(?<!as )sessions?(?:'s)?\b(?!\.\w|\()")),
    ('build-machine path', re.compile(r'(?<![\w.~-])/(?:work|check|tmp)/')),
)

# What is scanned, relative to ROOT: code, docs, tests and the JSON files
# (expected outputs under reproductions/, recorded metrics under docs/, the
# reference trajectories' notes and commands under tests/references/).
SCANNED_DIRS = ('paper_gans', 'reproductions', 'tests', 'docs', 'tools', '.ci')
SCANNED_TOP_FILES = ('README.md', 'setup.py', 'pytest.ini', 'CITATION.cff')
SCANNED_SUFFIXES = ('.py', '.md', '.sh', '.cff', '.ini', '.txt', '.json',
                    '.jsonl')
SKIPPED_DIRS = ('__pycache__', '.git')
THIS_FILE = os.path.relpath(os.path.abspath(__file__), ROOT)


def find_references(text):
  """Out-of-project references in `text`.

  Args:
    text: the text to check.

  Returns:
    A list of (line number, name of the rule, matched text).
  """
  found = []
  for number, line in enumerate(text.splitlines(), 1):
    for name, pattern in FORBIDDEN:
      for match in pattern.finditer(line):
        found.append((number, name, match.group(0)))
  return found


def _is_scanned(relpath):
  """Whether the file at `relpath` (relative to the tree) is scanned."""
  parts = relpath.split(os.sep)
  if len(parts) == 1:
    return relpath in SCANNED_TOP_FILES
  if parts[0] not in SCANNED_DIRS:
    return False
  # Scripts without a suffix (.ci/run) are text too.
  return relpath.endswith(SCANNED_SUFFIXES) or '.' not in parts[-1]


def scan_tree(root, skip=()):
  """Out-of-project references in the scanned files under `root`.

  Args:
    root: the top of a tree laid out as this repository is.
    skip: relative paths not to scan.

  Returns:
    A list of 'path:line: rule: matched text' strings, sorted.
  """
  found = []
  for directory, subdirs, files in os.walk(root):
    subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS
                  and not d.endswith('.egg-info')]
    for name in files:
      path = os.path.join(directory, name)
      relpath = os.path.relpath(path, root)
      if relpath in skip or not _is_scanned(relpath):
        continue
      with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
      found += [f'{relpath}:{number}: {rule}: {matched!r}'
                for number, rule, matched in find_references(text)]
  return sorted(found)


def help_texts():
  """Every `--help` text of the reproduction scripts' config and run flags.

  Returns:
    A list of (script, flag, help text) for the flags each
    reproductions/*.py script defines through `cli`.
  """
  from absl import flags  # pylint: disable=import-outside-toplevel
  from paper_gans import cli  # pylint: disable=import-outside-toplevel
  texts = []
  script_dir = os.path.join(ROOT, 'reproductions')
  for name in sorted(os.listdir(script_dir)):
    if not name.endswith('.py'):
      continue
    with open(os.path.join(script_dir, name), encoding='utf-8') as f:
      source = f.read()
    calls = re.findall(r'cli\.define_config_flags\((\w+)\.(\w+)\)', source)
    assert calls, f'{name} defines no config flags through cli'
    flag_values = flags.FlagValues()
    for module_name, class_name in calls:
      module = importlib.import_module(f'paper_gans.papers.{module_name}')
      config_cls = getattr(module, class_name)
      assert dataclasses.is_dataclass(config_cls)
      cli.define_config_flags(config_cls, flag_values=flag_values)
    cli.define_run_flags(module.NAME, flag_values=flag_values)
    texts += [(name, flag, flag_values[flag].help or '')
              for flag in flag_values]
  return texts


def _markdown_files():
  """README.md and every docs/*.md, relative to ROOT."""
  docs = sorted(os.path.join('docs', name)
                for name in os.listdir(os.path.join(ROOT, 'docs'))
                if name.endswith('.md'))
  return ['README.md'] + docs


def _prose(text):
  """`text` without fenced code blocks and inline code spans."""
  text = re.sub(r'^```.*?^```', '', text, flags=re.S | re.M)
  return re.sub(r'`[^`\n]*`', '', text)


def github_anchor(heading, seen):
  """The anchor GitHub gives a heading (a repeated one gets -1, -2, ...).

  Args:
    heading: the heading's text, without the leading #'s.
    seen: anchors already given in the same file; updated.

  Returns:
    The anchor, without '#'.
  """
  anchor = re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')
  count = seen.get(anchor, 0)
  seen[anchor] = count + 1
  return anchor if count == 0 else f'{anchor}-{count}'


def anchors(text):
  """The anchors of the headings of a markdown text (code blocks aside)."""
  seen = {}
  text = re.sub(r'^```.*?^```', '', text, flags=re.S | re.M)
  return {github_anchor(m.group(1), seen)
          for m in re.finditer(r'^#{1,6} (.+)$', text, flags=re.M)}


def broken_links(relpath, text, exists, anchors_of):
  """The relative links of a markdown file that do not resolve.

  Args:
    relpath: the file's path relative to the repository root.
    text: its text.
    exists: function of a root-relative path: whether that file exists.
    anchors_of: function of a root-relative path of a markdown file: its
      heading anchors.

  Returns:
    A list of the unresolved link targets, as written.
  """
  broken = []
  base = os.path.dirname(relpath)
  for target in re.findall(r'!?\[[^\]]*\]\(([^)\s]+)\)', _prose(text)):
    if re.match(r'[a-z][a-z0-9+.-]*:', target):  # http:, mailto:, ...
      continue
    path, _, anchor = target.partition('#')
    resolved = os.path.normpath(os.path.join(base, path)) if path else relpath
    if resolved.startswith('..') or not exists(resolved):
      broken.append(target)
    elif anchor and resolved.endswith('.md') and (
        anchor not in anchors_of(resolved)):
      broken.append(target)
  return broken


def _read(relpath):
  with open(os.path.join(ROOT, relpath), encoding='utf-8') as f:
    return f.read()


def _equivalence_table(text):
  """The table of the equivalence tests in `text`, or None."""
  match = re.search(r"^\| setup \| authors' file, framework \|.*?(?=\n\n|\Z)",
                    text, flags=re.S | re.M)
  return match.group(0) if match else None


# --- The checker itself, on planted strings. ---


@pytest.mark.parametrize('text, rule', [
    ('run ../shared/gpu/prepare.sh first', '../shared'),
    ('the seed setup of REFERENCES.md section 5', 'REFERENCES.md'),
    ('issue #6: at least 97%', 'issue number'),
    ("Issue #10's targets", 'issue number'),
    ('as issue 12 asks', 'issue number'),
    ('issues #3 and #4', 'issue number'),
    ("the issue's 1.2x target", 'the issue'),
    ('Issue target. No run', 'the issue'),
    ('issue targets: 8/8 modes', 'the issue'),
    ("this session's machine", 'session'),
    ('recorded in sessions 1-3', 'session'),
    ('One session had an H100', 'session'),
    ('recorded in earlier sessions.', 'session'),
    ('copied to /tmp/tfw first', 'build-machine path'),
    ('--out=/work/main/docs/x.json', 'build-machine path'),
    ('"command": "cd /check/repo && pytest"', 'build-machine path'),
])
def test_checker_finds_a_planted_reference(text, rule):
  assert [r for _, r, _ in find_references(text)] == [rule]


@pytest.mark.parametrize('text', [
    '_ = session.run(gen_train_op)',
    'with tf.compat.v1.Session() as session:',
    '`tf.InteractiveSession()` becomes a `tf.compat.v1.Session`',
    'Session and initialisation: lines 166-167',
    'One `session.run` evaluates each loss once',
    'tensorflow/tensorflow#121243 and its pull request',
    'https://github.com/tensorflow/tensorflow/issues/121243',
    'the 1.2x XLA-over-graph target of docs/performance.md',
    'tmp_path / "work" and runs/tmp/x',
    'an issue with the data; the issue is rounding',
])
def test_checker_passes_what_is_no_reference(text):
  assert find_references(text) == []


def test_scan_reports_each_kind_of_planted_file(tmp_path):
  planted = {
      os.path.join('paper_gans', 'x.py'): '"""See ../shared/notes."""\n',
      os.path.join('docs', 'page.md'): 'fine\nthe next session measured\n',
      os.path.join('tests', 'test_x.py'): '# issue #7\n',
      os.path.join('reproductions', 'expected', 'x.json'):
          '{"why": "issue #6"}\n',
      os.path.join('docs', 'run', 'metrics.json'): '{"out": "/work/a.json"}\n',
      'README.md': 'notes: REFERENCES.md\n',
      os.path.join('tests', 'references', 'x.json'): '{"n": "session 1"}\n',
      # Not scanned: other top-level files.
      'notes.md': 'session\n',
  }
  for relpath, text in planted.items():
    os.makedirs(os.path.dirname(tmp_path / relpath), exist_ok=True)
    (tmp_path / relpath).write_text(text)
  assert scan_tree(str(tmp_path)) == sorted([
      f"{os.path.join('docs', 'page.md')}:2: session: 'session'",
      f"{os.path.join('docs', 'run', 'metrics.json')}:1: "
      "build-machine path: '/work/'",
      f"{os.path.join('paper_gans', 'x.py')}:1: ../shared: '../shared'",
      "README.md:1: REFERENCES.md: 'REFERENCES.md'",
      f"{os.path.join('tests', 'references', 'x.json')}:1: "
      "session: 'session'",
      f"{os.path.join('reproductions', 'expected', 'x.json')}:1: "
      "issue number: 'issue #6'",
      f"{os.path.join('tests', 'test_x.py')}:1: issue number: 'issue #7'",
  ])


def test_link_checker_finds_a_missing_file_and_a_missing_anchor():
  text = ('[ok](docs/a.md) [ok](docs/a.md#two-words) ![img](docs/a/p.png)\n'
          '[gone](docs/b.md) [bad anchor](docs/a.md#three) [web](https://x)\n'
          '`[in code](nowhere.md)` [self](#top)\n# Top\n')
  files = {'README.md', 'docs/a.md', 'docs/a/p.png'}
  found = broken_links('README.md', text, files.__contains__,
                       lambda path: {'two-words'} if path == 'docs/a.md'
                       else anchors(text))
  assert found == ['docs/b.md', 'docs/a.md#three']


def test_github_anchors():
  seen = {}
  assert github_anchor("Step for step with the authors' code", seen) == (
      'step-for-step-with-the-authors-code')
  assert github_anchor('Figure 1 with a fixed generator (`--fixed_generator`)',
                       seen) == 'figure-1-with-a-fixed-generator---fixed_generator'
  assert github_anchor('Gulrajani et al. 2017, WGAN-GP (arXiv:1704.00028)',
                       seen) == 'gulrajani-et-al-2017-wgan-gp-arxiv170400028'
  assert github_anchor('Results', seen) == 'results'
  assert github_anchor('Results', seen) == 'results-1'


# --- The project. ---


def test_readme_is_a_short_front_page():
  lines = _read('README.md').splitlines()
  assert len(lines) <= README_MAX_LINES, (
      f'README.md has {len(lines)} lines; the front page keeps at most '
      f'{README_MAX_LINES}: move details to a page under docs/')


def test_no_out_of_project_references_in_code_docs_tests_or_json():
  found = scan_tree(ROOT, skip={THIS_FILE})
  assert not found, 'out-of-project references:\n' + '\n'.join(found)


def test_no_out_of_project_references_in_help_texts():
  texts = help_texts()
  assert len({script for script, _, _ in texts}) == 5
  found = [f'{script} --{flag}: {rule}: {matched!r}'
           for script, flag, text in texts
           for _, rule, matched in find_references(text)]
  assert not found, 'out-of-project references:\n' + '\n'.join(found)


@pytest.mark.parametrize('relpath', _markdown_files())
def test_relative_links_resolve(relpath):
  found = broken_links(
      relpath, _read(relpath),
      lambda path: os.path.isfile(os.path.join(ROOT, path)),
      lambda path: anchors(_read(path)))
  assert not found, f'{relpath}: links to nothing: {found}'


def test_every_setup_has_its_page():
  for name in os.listdir(os.path.join(ROOT, 'reproductions')):
    if name.endswith('.py'):
      page = os.path.join('docs', name[:-3] + '.md')
      assert os.path.isfile(os.path.join(ROOT, page)), page
      assert f'({page})' in _read('README.md'), f'README links no {page}'


def test_readme_equivalence_table_is_the_one_in_verification():
  readme = _equivalence_table(_read('README.md'))
  verification = _equivalence_table(_read(os.path.join('docs',
                                                       'verification.md')))
  assert verification is not None
  if readme is not None:
    assert readme == verification, (
        'README.md and docs/verification.md show different equivalence '
        'tables: docs/verification.md is the one to edit, then copy it')

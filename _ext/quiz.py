"""A ``{quiz}`` directive: a self-check question whose answer shows only after the reader chooses.

Loaded from _config.yml (``sphinx.local_extensions``). Syntax (``tools/teach/quizsyntax.py``)::

    :::{quiz} After 1,000 generations the fitted $\\sigma$ is about
    :label: quiz-gauss-sigma
    - 1
    - [x] 0.5
    - 0.05

    Why: the explanation, shown once a choice is made.
    :::

The page holds the choices as a list; which one is right travels base64-encoded in a JSON script
element, so it is not in the page's text, and ``_static/quiz.js`` marks the reader's choice right or
wrong, then reveals the right one and the explanation. A self-check, not an exam: the exam bank is
instructor-only (``teaching/exam/``). Everything is served by the site itself: no CDN, works offline.
In a notebook (Jupyter, Colab) the block shows as its source; the student build turns it into plain
Markdown without the answer.
"""
from __future__ import annotations

import base64
import json

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from tools.teach.quizsyntax import QuizError, parse_quiz


class QuizDirective(SphinxDirective):
    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = {"label": directives.unchanged, "class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        label = self.options.get("label")
        try:
            quiz = parse_quiz(self.arguments[0] if self.arguments else "", list(self.content), label)
        except QuizError as error:
            raise self.error(str(error)) from error
        box = nodes.container(classes=["quiz", *self.options.get("class", [])])
        if label:
            box["ids"].append(nodes.make_id(label))
        heading = nodes.paragraph("", "", classes=["quiz-heading"])
        heading += nodes.strong("", "Self-check")
        heading += nodes.Text(": choose an answer; the explanation appears once you have.")
        box += heading
        question = nodes.container(classes=["quiz-question"])
        question += self.parse_text_to_nodes(quiz.question)
        box += question
        choices = nodes.bullet_list(classes=["quiz-choices"])
        for text, _ in quiz.choices:
            item = nodes.list_item(classes=["quiz-choice"])
            item += self.parse_text_to_nodes(text)
            choices += item
        box += choices
        key = base64.b64encode(json.dumps({"correct": quiz.correct}).encode()).decode()
        box += nodes.raw("", f'<script type="application/json" class="quiz-key">"{key}"</script>'
                             '<p class="quiz-feedback" aria-live="polite"></p>', format="html")
        if quiz.explanation:
            explanation = nodes.container(classes=["quiz-explanation"])
            explanation += self.parse_text_to_nodes(quiz.explanation)
            box += explanation
        return [box]


def setup(app) -> dict:
    app.add_directive("quiz", QuizDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

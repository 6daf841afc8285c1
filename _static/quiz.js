// Self-check quizzes (_ext/quiz.py): the reader picks a choice (click, or Enter / Space on a focused
// choice); then the choice is marked right or wrong, the right one is shown and the explanation appears.
(function () {
  "use strict";
  function setUp(quiz) {
    var keyElement = quiz.querySelector("script.quiz-key");
    var choices = Array.prototype.slice.call(quiz.querySelectorAll("li.quiz-choice"));
    if (!keyElement || !choices.length) return;
    var correct;
    try { correct = JSON.parse(atob(JSON.parse(keyElement.textContent))).correct; } catch (e) { return; }
    var feedback = quiz.querySelector(".quiz-feedback");
    quiz.setAttribute("role", "group");
    // the choices become buttons: their list is no list for assistive technology any more (axe: a <ul> may
    // only hold list items, and an <li> with role=button is none)
    choices.forEach(function (choice) { if (choice.parentNode) choice.parentNode.setAttribute("role", "none"); });
    choices.forEach(function (choice, index) {
      choice.setAttribute("tabindex", "0");
      choice.setAttribute("role", "button");
      choice.setAttribute("aria-pressed", "false");
      function choose() {
        if (quiz.classList.contains("quiz-answered")) return;
        quiz.classList.add("quiz-answered");
        choice.classList.add("quiz-chosen");
        choice.setAttribute("aria-pressed", "true");
        var right = correct.indexOf(index) >= 0;
        choice.classList.add(right ? "quiz-right" : "quiz-wrong");
        correct.forEach(function (i) { if (choices[i]) choices[i].classList.add("quiz-correct"); });
        choices.forEach(function (c) { c.setAttribute("tabindex", "-1"); });
        if (feedback) feedback.textContent = right ? "Right." : "Not quite: the right answer is marked.";
      }
      choice.addEventListener("click", choose);
      choice.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); choose(); }
      });
    });
  }
  function all() { Array.prototype.forEach.call(document.querySelectorAll("div.quiz"), setUp); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();

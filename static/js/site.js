// CacheLab page behaviour. Everything here is an enhancement: pages work without it.
"use strict";

(function () {
  function sandboxParts() {
    const form = document.getElementById("sandbox-form");
    if (!form) return null;
    return {
      form: form,
      input: document.getElementById("sandbox-command"),
      output: document.getElementById("sandbox-output"),
    };
  }

  function scrollToEnd(output) {
    output.scrollTop = output.scrollHeight;
  }

  function setUpHistory(parts) {
    let history = [];
    try {
      history = JSON.parse(parts.input.dataset.history || "[]");
    } catch (e) {
      history = [];
    }
    let position = history.length;

    parts.input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowUp" && position > 0) {
        position -= 1;
        parts.input.value = history[position];
        event.preventDefault();
      } else if (event.key === "ArrowDown") {
        position = Math.min(history.length, position + 1);
        parts.input.value = history[position] || "";
        event.preventDefault();
      }
    });

    parts.form.addEventListener("submit", function (event) {
      const command = parts.input.value;
      if (command.trim().toLowerCase() === "clear") {
        // Like a terminal: clear the screen without running anything.
        event.preventDefault();
        event.stopImmediatePropagation();
        clearScreen(parts);
        parts.input.value = "";
        return;
      }
      if (command.trim() && history[history.length - 1] !== command) history.push(command);
      position = history.length;
    }, true);

    // Clear the prompt once htmx has taken the command, not when the reply
    // comes back: by then the learner may already be typing the next one.
    parts.form.addEventListener("htmx:beforeRequest", function () {
      parts.input.value = "";
    });
    parts.form.addEventListener("htmx:afterRequest", function () {
      const hint = parts.output.querySelector(".terminal-hint");
      if (hint) hint.remove();
      scrollToEnd(parts.output);
      parts.input.focus();
    });
  }

  function clearScreen(parts) {
    parts.output.replaceChildren();
    const clear = document.querySelector("[data-clear-screen]");
    if (clear && window.htmx) window.htmx.trigger(clear, "submit");
  }

  function runLine(parts, line) {
    return new Promise(function (resolve) {
      parts.form.addEventListener("htmx:afterRequest", resolve, { once: true });
      parts.input.value = line;
      parts.form.requestSubmit();
    });
  }

  async function runExample(parts, code) {
    const details = parts.form.closest("details");
    if (details) details.open = true;
    const lines = code.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
    for (const line of lines) {
      await runLine(parts, line);
    }
  }

  // The panel arrives with the page (/sandbox/) or right after it (topic
  // pages load it with htmx): set it up whenever it appears.
  // An example whose Run button was pressed before the panel had arrived.
  let pendingExample = null;

  function setUpPanel() {
    const parts = sandboxParts();
    if (!parts || parts.form.dataset.ready) return;
    parts.form.dataset.ready = "1";
    setUpHistory(parts);
    scrollToEnd(parts.output);
    if (pendingExample !== null) {
      const code = pendingExample;
      pendingExample = null;
      runExample(parts, code);
    }
    document.querySelectorAll("[data-clear-screen] button").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        clearScreen(parts);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpPanel();
    if (window.htmx) {
      window.htmx.onLoad(function (loaded) {
        // Only once htmx has processed the panel itself: content swapped in out of
        // band beside it can load first, while the form would still submit natively.
        const form = document.getElementById("sandbox-form");
        if (form && loaded.contains(form)) setUpPanel();
      });
    }
    document.querySelectorAll("[data-run-example]").forEach(function (button) {
      button.addEventListener("click", function () {
        const code = button.closest(".redis-example").querySelector("code").textContent;
        const parts = sandboxParts();
        if (parts && parts.form.dataset.ready) {
          runExample(parts, code);
        } else {
          pendingExample = code; // runs as soon as the panel is set up
        }
      });
    });
  });

  // Quiz timer: count down, and say so (assertively) at 5 and 1 minutes left,
  // so nobody runs out of time unwarned; the Extend button is beside it.
  function startTimer() {
    const timer = document.querySelector("[data-deadline]");
    if (!timer) return;
    const deadline = new Date(timer.dataset.deadline).getTime();
    const text = timer.querySelector("[data-time-left]");
    const alert = document.getElementById("timer-alert");
    const announced = new Set();
    function tick() {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      const minutes = Math.floor(left / 60);
      const seconds = left % 60;
      text.textContent = minutes + " min " + String(seconds).padStart(2, "0") + " s";
      for (const mark of [300, 60]) {
        if (left <= mark && left > 0 && !announced.has(mark)) {
          announced.add(mark);
          alert.textContent = (mark / 60) + " minute" + (mark > 60 ? "s" : "") +
            " left. Use “Give me 5 more minutes” if you need more time.";
        }
      }
      if (left === 0) {
        alert.textContent = "Time is up. Your answers so far have been saved.";
        return;
      }
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", startTimer);
})();

// The Memcached console's prompt. An enhancement: the form works without it.
"use strict";

(function () {
  const form = document.getElementById("memcached-form");
  if (!form) return;
  const input = document.getElementById("memcached-command");
  const output = document.getElementById("memcached-output");
  const STORAGE = /^\s*(set|add|replace|append|prepend|cas|ms)\s/;

  // Enter sends the request once it is complete: a storage command needs its data line.
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey) return;
    const text = input.value;
    const needsData = STORAGE.test(text) && text.indexOf("\n") === -1;
    if (needsData) return; // a new line for the data
    event.preventDefault();
    if (text.trim()) form.requestSubmit();
  });
  form.addEventListener("htmx:beforeRequest", function () {
    input.value = "";
  });
  form.addEventListener("htmx:afterRequest", function () {
    const hint = output.querySelector(".terminal-hint");
    if (hint) hint.remove();
    output.scrollTop = output.scrollHeight;
    input.focus();
  });
})();

// Reads one MJML document on stdin and prints {"html": ..., "errors": [...]} as JSON on stdout.
// Used by tests/test_mjml_oracle.py to compare the official compiler with mjml-python.
"use strict";
const mjml2html = require("mjml");

let source = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { source += chunk; });
process.stdin.on("end", () => {
  let result;
  try {
    const out = mjml2html(source, { validationLevel: "strict", keepComments: false });
    result = { html: out.html, errors: out.errors.map((e) => e.formattedMessage) };
  } catch (err) {
    const details = Array.isArray(err.errors) ? err.errors.map((e) => e.formattedMessage) : [];
    result = { html: "", errors: details.length ? details : [String(err.message || err)] };
  }
  process.stdout.write(JSON.stringify(result));
});

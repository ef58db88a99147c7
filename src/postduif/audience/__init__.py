"""The people side: who is on which list, how they got there, and what they are sent first.

Beside the pipeline (content -> campaign -> message -> SMTP) this package keeps the audience:

* :mod:`~postduif.audience.records`: a person's fields, normalised and checked (addresses,
  names, languages), the same rules for every way in.
* :mod:`~postduif.audience.formats`: reading JSON, JSON Lines and CSV (the form's posts, a
  webhook log, a spreadsheet, a listmonk export) into rows that keep their line.
* :mod:`~postduif.audience.joins`: join requests from the site's form or a file, imported with
  a report per line, and vetted.
* :mod:`~postduif.audience.listmonk`: moving a listmonk export over (memberships, consent,
  blocklist).
* :mod:`~postduif.audience.membership`: status changes and the consent each records: sign-up,
  confirmation, approval, unsubscribing, the preference page.
* :mod:`~postduif.audience.tokens`: the signed links in emails (confirm, unsubscribe,
  preferences).
* :mod:`~postduif.audience.greetings`: confirmation and welcome emails, each at most once.

All SQL stays in :mod:`postduif.store`; bounce reports are :mod:`postduif.bounces`.
"""

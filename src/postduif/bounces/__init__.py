"""Bounce and complaint reports from the return mailbox, and what they change.

Relays accept a message and report its failure later, by mail to the envelope sender: RFC 3464
delivery status notifications, older formats without a DSN part, RFC 5965 complaint reports
from feedback loops, and auto-replies that change nothing. The flow runs one way:

* ``mailbox``: where reports are read from (IMAP, a Maildir, an mbox), one ``Item`` each;
* ``classify``: one report's bytes -> a ``Notice`` (what it says, nothing looked up);
* ``match``: a ``Notice`` -> the campaign and subscriber it is about (Message-ID, VERP,
  address);
* ``effects``: matched notices -> store changes and the report the command prints.

``model`` holds the frozen values that cross these modules.
"""

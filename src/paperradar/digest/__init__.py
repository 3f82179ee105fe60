"""The daily digest: pick each subscriber's new papers, render the email, send it exactly once.

select.py (scoring) -> plan.py (outbox rows) -> render.py (the message) -> send.py (the outbox
state machine over a transport.py transport); run.py ties them together for the CLI and worker.
"""

"""HL7 v2 with the RIS (docs/integrations.md, "HL7 v2"): the ER7 parser and builder (er7.py), the
message store (models.py), what each message does (handlers.py, results.py), receiving and
acknowledging (inbound.py), the HTTP endpoint (views.py), and the MLLP listener and client (mllp.py)."""

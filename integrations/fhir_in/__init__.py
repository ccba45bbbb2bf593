"""Inbound FHIR referral (issue 17 item 3; docs/integrations.md, "Inbound FHIR referral"): an EHR
posts a FHIR R4 `ServiceRequest` (in a Bundle, or with contained resources) and CarePath registers
the child if new and writes the referral through `referrals.intake`, the services the web and the
REST API use. Conditional on the placer identifier: a retry creates nothing twice.

reading.py (the message's resources, checked with fhir.resources) → mapping.py (FHIR elements →
the intake's arguments) → receive.py (conditional create) ← views.py (HTTP, OperationOutcome);
outcome.py builds the OperationOutcome and maps CarePath's field errors back to FHIRPath."""

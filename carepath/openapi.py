"""drf-spectacular's settings for the OpenAPI schema (`SPECTACULAR_SETTINGS` in carepath/settings.py):
a plain dict, imported by the settings, so it must not import Django or the apps."""

OPENAPI = {
    "TITLE": "CarePath API",
    "DESCRIPTION": "Care pathway for children with facial twitching (docs/design.md §5). Errors are "
    "application/problem+json (RFC 9457). Authenticate with POST /api/v1/auth/token/ then "
    "'Authorization: Bearer <token>'.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the pinned drf-spectacular-sidecar package, never a CDN (docs/security.md)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},  # no badge fetched from swagger.io
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "carepath.api.schema.add_problem_responses",
        "carepath.api.schema.fhir_operation_paths",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReferralStateEnum": "referrals.choices.ReferralState",
        "MRIStateEnum": "imaging.choices.MRIState",
        "WorkItemKindEnum": "carepath.models.WorkItemKind",
        "RoleEnum": "carepath.pathway.roles.Role",  # a work item's queue, a note's author role, a delegation's role
        "PriorityEnum": "carepath.pathway.priority.Priority",
        "DiagnosisEnum": "referrals.choices.Diagnosis",
        "SedationEnum": "imaging.choices.Sedation",
        "ScanOutcomeEnum": "imaging.choices.ScanOutcome",
        "SeverityScaleEnum": "referrals.choices.SeverityScale",
        "MDTDecisionOutcomeEnum": "referrals.mdt.models.DecisionOutcome",
        "TreatmentKindEnum": "referrals.followup.models.TreatmentKind",
        "CategoryEnum": "imaging.choices.ReportCategory",  # its name before attachments had a `category` too
        "AttachmentCategoryEnum": "referrals.attachments.models.AttachmentCategory",
        "AttachmentKindEnum": "referrals.attachments.models.AttachmentKind",
    },
}

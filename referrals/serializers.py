"""The referral API's serializers: the contract and the OpenAPI schema of patients and referrals
(docs/design.md §5). The hot read paths build the same JSON from rows (`referrals/rows.py`); tests compare
the two field for field."""

from zoneinfo import available_timezones

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from carepath.api.common import ReadModelSerializer, StatefulSerializer, link
from carepath.models import CaseEvent
from carepath.pathway import access
from carepath.pathway.identity import MRNField

from .inputs import ReferralDetailsInput
from .machine import REFERRAL_MACHINE
from .models import Assessment, CaseNote, Guardian, NeurosurgeryConsult, Outcome, Patient, Referral


class GuardianSerializer(ReadModelSerializer):
    class Meta:
        model = Guardian
        fields = ["id", "name", "relationship", "phone", "email", "has_parental_responsibility", "contact_preference"]
        read_only_fields = ["id"]
        extra_kwargs = {"name": {"max_length": 200}, "phone": {"max_length": 32}}

    def to_representation(self, guardian):
        """`phone` and `email` only for the roles that contact families (carepath/pathway/access.py)."""
        data = super().to_representation(guardian)
        request = self.context.get("request")
        if request is None or not access.can_see_family_contacts(request.user):
            data.pop("phone", None)
            data.pop("email", None)
        return data


class PatientSerializer(ReadModelSerializer):
    mrn = MRNField(max_length=32, label="MRN", help_text="Medical record number (invisible characters removed).")
    guardians = GuardianSerializer(many=True, required=False)
    links = serializers.SerializerMethodField()
    confirm_new_patient = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Register a new patient although one with the same name and birth date exists (else 409).",
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "time_zone",
            "guardians",
            "created_at",
            "links",
            "confirm_new_patient",
        ]
        read_only_fields = ["id", "created_at"]
        # uniqueness is the service's job (it answers with a field error); no pre-check query here
        extra_kwargs = {"mrn": {"validators": []}}

    @extend_schema_field(
        {"type": "object", "properties": {"self": {"type": "string"}, "referrals": {"type": "string"}}}
    )
    def get_links(self, patient) -> dict:
        return {
            "self": link("api-patient-detail", patient.pk),
            "referrals": reverse("api-referral-list") + f"?patient={patient.pk}",
        }

    def validate_time_zone(self, value: str) -> str:
        if value and value not in available_timezones():
            raise serializers.ValidationError("Not a known IANA time zone (e.g. Europe/London).")
        return value

    def validate_guardians(self, value):
        if len(value) > 10:
            raise serializers.ValidationError("At most 10 guardians.")
        return value


class PatientSummarySerializer(ReadModelSerializer):
    class Meta:
        model = Patient
        fields = ["id", "mrn", "given_name", "family_name", "birth_date", "sex"]
        read_only_fields = fields


class AssessmentSerializer(ReadModelSerializer):
    class Meta:
        model = Assessment
        fields = [
            "findings",
            "working_diagnosis",
            "brow_lift_sign",
            "severity_scale",
            "severity_score",
            "mri_indicated",
            "assessed_by",
            "assessed_at",
        ]
        read_only_fields = fields


class ConsultSerializer(ReadModelSerializer):
    class Meta:
        model = NeurosurgeryConsult
        fields = [
            "id",
            "question",
            "requested_by",
            "requested_at",
            "recommendation",
            "note",
            "answered_by",
            "answered_at",
        ]
        read_only_fields = fields


class OutcomeSerializer(ReadModelSerializer):
    class Meta:
        model = Outcome
        fields = [
            "diagnosis",
            "plan",
            "follow_up",
            "letter",
            "imaging_waived_reason",
            "concluded_by",
            "concluded_at",
            "acknowledged_by",
            "acknowledged_at",
        ]
        read_only_fields = fields


REFERRAL_LINKS = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in ("self", "patient", "events", "fhir", "transitions")}
    | {"mri_requests": {"type": "array", "items": {"type": "string"}}},
}


class ReferralSerializer(StatefulSerializer):
    machine = REFERRAL_MACHINE
    reference = serializers.CharField(read_only=True)
    patient = PatientSummarySerializer(read_only=True)
    mri_requests = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id",
            "reference",
            "state",
            "version",
            "priority",
            "requested_priority",
            "patient",
            "referred_by",
            "created_by",
            "reason",
            "symptom_onset",
            "side",
            "muscles",
            "spread",
            "frequency",
            "red_flags",
            "requested_priority_reason",
            "clinical_notes",
            "over_18_reason",
            "priority_override_reason",
            "return_reason",
            "referrer_response",
            "decline_reason",
            "decline_advice",
            "cancel_reason",
            "was_not_brought_count",
            "loop_closed_unacknowledged",
            "submitted_at",
            "triaged_at",
            "mri_requested_at",
            "neurosurgery_requested_at",
            "concluded_at",
            "closed_at",
            "updated_at",
            "allowed_transitions",
            "deadlines",
            "mri_requests",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "array", "items": {"type": "integer"}})
    def get_mri_requests(self, referral) -> list[int]:
        return [mri.pk for mri in referral.mri_requests.all()]

    @extend_schema_field(REFERRAL_LINKS)
    def get_links(self, referral) -> dict:
        pk = referral.pk
        return {
            "self": link("api-referral-detail", pk),
            "patient": link("api-patient-detail", referral.patient_id),
            "events": link("api-referral-events", pk),
            "fhir": link("api-referral-fhir", pk),
            "transitions": link("api-referral-transitions", pk),
            "mri_requests": [link("api-mri-request-detail", mri.pk) for mri in referral.mri_requests.all()],
        }


class ReferralDetailSerializer(ReferralSerializer):
    assessment = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()
    consults = ConsultSerializer(many=True, read_only=True)

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "assessment", "consults", "outcome"]
        read_only_fields = fields

    @extend_schema_field(AssessmentSerializer(allow_null=True))
    def get_assessment(self, referral):
        found = getattr(referral, "assessment", None)
        return AssessmentSerializer(found).data if found else None

    @extend_schema_field(OutcomeSerializer(allow_null=True))
    def get_outcome(self, referral):
        found = getattr(referral, "outcome", None)
        return OutcomeSerializer(found).data if found else None


class ReferralCreateSerializer(ReferralDetailsInput):
    patient = serializers.IntegerField(min_value=1, max_value=2**62)
    referred_by = serializers.IntegerField(
        min_value=1,
        max_value=2**62,
        required=False,
        allow_null=True,
        help_text="The referring pediatrician's user id: only an EHR client (writing on a clinician's behalf) may "
        "name one, an active pediatrician; a pediatrician's referrals are always in their own name (422 otherwise).",
    )


class EventSerializer(ReadModelSerializer):
    actor = serializers.CharField(source="actor.get_username", read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["id", "at", "actor", "machine", "kind", "transition", "from_state", "to_state", "mri_request", "data"]
        read_only_fields = fields


class CaseNoteSerializer(ReadModelSerializer):
    """A clinical note as the API shows it (referrals/notes.py): never changed, amended by a new one."""

    author = serializers.CharField(source="author.get_username", read_only=True)
    author_name = serializers.SerializerMethodField()
    amended_by = serializers.SerializerMethodField()

    class Meta:
        model = CaseNote
        fields = ["id", "referral", "author", "author_name", "author_role", "written_at", "text", "amends"]
        fields += ["amended_by", "mentioned"]
        read_only_fields = fields

    def get_author_name(self, note) -> str:
        return note.author.get_full_name() or note.author.get_username()

    def get_amended_by(self, note) -> int | None:
        amendment = getattr(note, "amendment", None)
        return amendment.pk if amendment is not None else None

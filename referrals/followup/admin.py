"""The follow-up templates in the admin (docs/design.md, "Follow-up after treatment"): one per
treatment and site, its visits inline. Saving a template changes only schedules made afterwards; the
action re-plans the unrecorded visits of schedules already made from it, on purpose."""

from django.contrib import admin, messages

from carepath.admin_base import AuditedAdmin

from . import services
from .models import FollowUpTemplate, FollowUpTemplateVisit, Treatment, VisitState


class TemplateVisitInline(admin.TabularInline):
    model = FollowUpTemplateVisit
    extra = 1


@admin.register(FollowUpTemplate)
class FollowUpTemplateAdmin(AuditedAdmin):
    audit_reads = False  # a template names no child
    list_display = ["treatment_kind", "site", "visits_in_words", "updated_at"]
    inlines = [TemplateVisitInline]
    actions = ["replan_existing"]

    @admin.display(description="visits")
    def visits_in_words(self, template) -> str:
        return ", ".join(f"{v.label} ({v.amount} {v.unit})" for v in template.visits.all())

    @admin.action(description="Re-plan the unrecorded visits of schedules already made from these templates")
    def replan_existing(self, request, queryset):
        count = 0
        for template in queryset:
            for treatment_id in _schedules_of(template):
                services.replan_from_template(treatment_id=treatment_id, actor=request.user)
                count += 1
        messages.success(request, f"{count} schedule(s) re-planned from the current templates.")


def _schedules_of(template: FollowUpTemplate) -> list[int]:
    """Treatments of this kind with a visit still planned, at this template's site (for the default
    template: at sites without their own template)."""
    treatments = Treatment.objects.filter(kind=template.treatment_kind, visits__state=VisitState.PLANNED)
    if template.site_id is not None:
        treatments = treatments.filter(site_id=template.site_id)
    else:
        own = FollowUpTemplate.objects.filter(treatment_kind=template.treatment_kind, site__isnull=False)
        treatments = treatments.exclude(site_id__in=own.values("site_id"))
    return list(treatments.values_list("pk", flat=True).distinct())

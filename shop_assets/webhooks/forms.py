from __future__ import annotations

from django import forms

from shop_assets.webhooks.models import SUBSCRIBABLE_EVENTS, EventType

EVENT_CHOICES = [(value, f"{value} — {EventType(value).label}") for value in SUBSCRIBABLE_EVENTS]


class EndpointForm(forms.Form):
    """The fields a merchant edits; the URL and events are checked by the endpoint service."""

    url = forms.CharField(
        label="URL",
        max_length=2000,
        # the example is written out whole under the field (a placeholder this long is cut on a phone)
        widget=forms.TextInput(attrs={"placeholder": "https://", "aria-describedby": "url-example"}),
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=list(SUBSCRIBABLE_EVENTS),
        error_messages={"required": "Choose at least one event type."},
    )

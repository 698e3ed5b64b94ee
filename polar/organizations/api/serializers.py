from rest_framework import serializers

from polar.organizations.models import Organization


class OrganizationOutput(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "created_at", "modified_at", "name", "slug", "status", "email"]

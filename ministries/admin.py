"""The admin for ministries, their departments and their dated former names."""

from django.contrib import admin

from ministries.models import Department, Ministry, MinistryName


class MinistryNameInline(admin.TabularInline):
    model = MinistryName
    extra = 0


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Ministry)
class MinistryAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_km", "acronym", "kind", "parent", "dissolved_on", "reference_key")
    list_filter = ("kind", ("dissolved_on", admin.EmptyFieldListFilter))
    search_fields = (
        "name_en",
        "name_km",
        "acronym",
        "code",
        "former_names__name_en",
        "former_names__acronym",
    )
    autocomplete_fields = ("parent",)
    filter_horizontal = ("successors",)
    inlines = [MinistryNameInline, DepartmentInline]
    readonly_fields = ("reference_key", "created_at", "updated_at")


@admin.register(MinistryName)
class MinistryNameAdmin(admin.ModelAdmin):
    list_display = ("name_en", "acronym", "ministry", "valid_from", "valid_to")
    search_fields = ("name_en", "name_km", "acronym", "ministry__name_en")
    list_filter = ("ministry",)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_km", "ministry")
    search_fields = ("name_en", "name_km", "ministry__name_en", "ministry__acronym")
    list_filter = ("ministry",)
    autocomplete_fields = ("ministry",)

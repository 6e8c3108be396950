"""Data scope (数据权限): which records a user may see.

A handling unit's staff see only their unit's records; everyone else sees their own
platform and the platforms below it (a province sees all). Selectors and services call
:func:`scope_of` and :meth:`DataScope.apply`; views never filter on their own.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from .models import Platform
from .roles import ROLES


@dataclass(frozen=True)
class DataScope:
    platform_ids: frozenset[int]
    unit_id: int | None = None  # set: unit staff, restricted to this unit

    def apply(
        self,
        queryset: QuerySet,
        *,
        platform_field: str = "platform",
        unit_field: str | None = "unit",
    ) -> QuerySet:
        """Restrict a queryset. Records without a unit field are invisible to unit staff."""
        if self.unit_id is not None:
            if unit_field is None:
                return queryset.none()
            return queryset.filter(**{unit_field: self.unit_id})
        return queryset.filter(**{f"{platform_field}__in": self.platform_ids})

    def covers_platform(self, platform_id: int) -> bool:
        return self.unit_id is None and platform_id in self.platform_ids

    def covers_unit(self, unit) -> bool:
        if self.unit_id is not None:
            return unit.pk == self.unit_id
        return unit.platform_id in self.platform_ids


def scope_of(user) -> DataScope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return DataScope(platform_ids=frozenset())
    cached = getattr(user, "_data_scope", None)
    if cached is not None:
        return cached
    codes = user.role_codes
    unit_only = bool(codes) and all(ROLES[c].scope == "unit" for c in codes)
    if unit_only:
        scope = DataScope(platform_ids=frozenset(), unit_id=user.unit_id or -1)
    else:
        ids = Platform.objects.filter(path__startswith=user.platform.path).values_list(
            "pk", flat=True
        )
        scope = DataScope(platform_ids=frozenset(ids))
    user._data_scope = scope
    return scope

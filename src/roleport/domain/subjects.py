"""Subjects: one record per X.509 subject that authenticated (or tried to)."""

from __future__ import annotations

from roleport.domain.model import Subject
from roleport.domain.resources import ResourceService


class SubjectService(ResourceService[Subject]):
    repository = "subjects"
    resource_type = "subject"
    label = "subject"

"""Subjects: one record per X.509 subject that authenticated (or tried to)."""

from __future__ import annotations

import hashlib

from roleport.domain.model import Subject
from roleport.domain.resources import ResourceService


def subject_key(x509_subject: str) -> str:
    """The lookup key of a subject DN: a fixed-width digest, so any DN length indexes."""
    return hashlib.sha256(x509_subject.encode()).hexdigest()


class SubjectService(ResourceService[Subject]):
    repository = "subjects"
    resource_type = "subject"
    label = "subject"

"""Matching's nameko entrypoints: who may hear of an open shift, ranked (being built: issue 16)."""

from chassis.service import StaffbankService


class MatchingService(StaffbankService):
    name = "matching"

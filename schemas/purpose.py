"""Purposes and data categories: the two vocabularies every disclosure is stated in.

PIPA §15(1)/§17(1) make the purpose of processing the unit of lawfulness, and a consent
(개인정보 수집·이용 및 제3자 제공 동의서) names both the purposes and the data items. The hub
therefore never releases data "in general": every request names one purpose, and every answer
names the data categories it released.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas.common import FROZEN_STRICT, DataCategoryCode, LongText, PurposeCode, ShortText


class Purpose(BaseModel):
    """A purpose of processing (purposes.yaml), e.g. ``eligibility.verification``."""

    model_config = FROZEN_STRICT

    code: PurposeCode
    name_ko: ShortText
    name_en: ShortText
    description: LongText


class DataCategory(BaseModel):
    """A category of personal data the hub may release (data_categories.yaml)."""

    model_config = FROZEN_STRICT

    code: DataCategoryCode
    name_ko: ShortText
    name_en: ShortText
    sensitive: bool
    """Sensitive data in the sense of PIPA §23 (health, incl. mental health and addiction) that
    this hub releases only under the person's own separate prior consent, never on a statutory
    basis alone. The catalogue loader rejects a legal basis that releases such a category."""
    description: LongText

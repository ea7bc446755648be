"""On PostgreSQL: pg_trgm is there, the officials' search columns have their trigram indexes, and
the search's own query can use them (so it stays fast at tens of thousands of officials)."""

import pytest
from django.db import connection

from participants.search import officials_matching


def test_pg_trgm_and_the_trigram_indexes_exist(postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == (1,)
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'participants_official' "
            "AND indexname LIKE 'official_search_%%'"
        )
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {"official_search_names_trgm", "official_search_contact_trgm"}
    assert all("gin_trgm_ops" in definition for definition in indexes.values())


@pytest.mark.parametrize(
    ("query", "with_contact", "index"),
    [
        ("chan sophea", False, "official_search_names_trgm"),
        ("០១២ ៣៤៥ ៦៧៨", True, "official_search_contact_trgm"),
    ],
)
def test_the_search_query_can_use_the_trigram_index(postgres, query, with_contact, index):
    sql, params = officials_matching(query, with_contact=with_contact).query.sql_with_params()
    with connection.cursor() as cursor:
        # The question is whether the query CAN use the trigram index, whatever the table's size and
        # statistics (other tests leave rows and statistics behind): with sequential and plain index
        # scans priced out, a GIN index is reached by a bitmap scan or not at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


def test_officials_are_ranked_by_trigram_similarity(postgres, cast, officer):
    from tests.factories import OfficialFactory

    OfficialFactory(family_name="Chanthavong", given_name="Rithy", name_km="", ministry=cast["mef"])
    ranked = [official.full_name for official in officials_matching("chan sophea", with_contact=False)]
    assert ranked == ["CHAN Sophea"]
    ranked = [official.full_name for official in officials_matching("chan", with_contact=False)]
    assert ranked[0] == "CHAN Sophea" and "CHANTHAVONG Rithy" in ranked

"""concept-map owner, expand: user_id on the six tables below courses, stamped by triggers

Row-level security on course_documents, processed_documents, chapters,
keywords, relationships and chapter_complexity used to find a row's owner by
walking up its parents, each policy selecting the visible ids of the table
above. The benchmark measured that chain at 2 to 5 ms per query, on every
query that touches these tables. Each of them now carries its owner:

- user_id, nullable for now, with its comment;
- inherit_concept_map_owner(), a BEFORE INSERT/UPDATE trigger on each table
  that copies user_id from the row's parent whatever the writer sent, and
  propagate_concept_map_owner(), an AFTER UPDATE trigger on each parent that
  rewrites the children when an owner (or a document's course) changes.

Expand/contract (docs/MIGRATION_GUIDELINES.md): the backfill, the validation
and SET NOT NULL, the indexes and the policies that use the column follow in
revisions of their own. The code before and after runs against every step:
nothing reads the column until the policies do, and no writer sends it.

Revision ID: 4b7e0c2a9f13
Revises: a6f7b47487af
Create Date: 2026-11-22 03:47:12.412830+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger

revision: str = "4b7e0c2a9f13"
down_revision: str | Sequence[str] | None = "a6f7b47487af"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"

CONCEPT_MAP_TABLES = (
    "course_documents",
    "processed_documents",
    "chapters",
    "keywords",
    "relationships",
    "chapter_complexity",
)
OWNER_COMMENT = (
    "the learner who owns the row, copied from its parent by the"
    " inherit_concept_map_owner() trigger; row-level security filters on it"
)


def upgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    for table in CONCEPT_MAP_TABLES:
        op.add_column(table, sa.Column("user_id", sa.UUID(), nullable=True, comment=OWNER_COMMENT))

    public_inherit_concept_map_owner = PGFunction(
        schema="public",
        signature="inherit_concept_map_owner()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    CASE TG_TABLE_NAME\n        WHEN 'course_documents' THEN\n            NEW.user_id := (\n                SELECT c.user_id FROM public.courses c WHERE c.course_id = NEW.course_id\n            );\n        WHEN 'processed_documents' THEN\n            NEW.user_id := (\n                SELECT d.user_id FROM public.course_documents d\n                WHERE d.document_id = NEW.document_id AND d.course_id = NEW.course_id\n            );\n        WHEN 'chapters' THEN\n            NEW.user_id := (\n                SELECT pd.user_id FROM public.processed_documents pd\n                WHERE pd.processed_id = NEW.processed_id\n            );\n        ELSE\n            NEW.user_id := (\n                SELECT ch.user_id FROM public.chapters ch WHERE ch.chapter_id = NEW.chapter_id\n            );\n    END CASE;\n    RETURN NEW;\nEND;\n$$",
    )
    op.create_entity(public_inherit_concept_map_owner)

    public_propagate_concept_map_owner = PGFunction(
        schema="public",
        signature="propagate_concept_map_owner()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    CASE TG_TABLE_NAME\n        WHEN 'courses' THEN\n            UPDATE public.course_documents SET user_id = NEW.user_id\n            WHERE course_id = NEW.course_id AND user_id IS DISTINCT FROM NEW.user_id;\n        WHEN 'course_documents' THEN\n            UPDATE public.processed_documents SET user_id = NEW.user_id, course_id = NEW.course_id\n            WHERE document_id = NEW.document_id\n                AND (user_id, course_id) IS DISTINCT FROM (NEW.user_id, NEW.course_id);\n        WHEN 'processed_documents' THEN\n            UPDATE public.chapters SET user_id = NEW.user_id\n            WHERE processed_id = NEW.processed_id AND user_id IS DISTINCT FROM NEW.user_id;\n        ELSE\n            UPDATE public.keywords SET user_id = NEW.user_id\n            WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;\n            UPDATE public.relationships SET user_id = NEW.user_id\n            WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;\n            UPDATE public.chapter_complexity SET user_id = NEW.user_id\n            WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;\n    END CASE;\n    RETURN NULL;\nEND;\n$$",
    )
    op.create_entity(public_propagate_concept_map_owner)

    public_course_documents_inherit_owner_on_course_documents = PGTrigger(
        schema="public",
        signature="inherit_owner_on_course_documents",
        on_entity="public.course_documents",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, course_id ON public.course_documents FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.create_entity(public_course_documents_inherit_owner_on_course_documents)

    public_processed_documents_inherit_owner_on_processed_documents = PGTrigger(
        schema="public",
        signature="inherit_owner_on_processed_documents",
        on_entity="public.processed_documents",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, document_id, course_id ON public.processed_documents FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.create_entity(public_processed_documents_inherit_owner_on_processed_documents)

    public_chapters_inherit_owner_on_chapters = PGTrigger(
        schema="public",
        signature="inherit_owner_on_chapters",
        on_entity="public.chapters",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, processed_id ON public.chapters FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.create_entity(public_chapters_inherit_owner_on_chapters)

    public_keywords_inherit_owner_on_keywords = PGTrigger(
        schema="public",
        signature="inherit_owner_on_keywords",
        on_entity="public.keywords",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.keywords FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.create_entity(public_keywords_inherit_owner_on_keywords)

    public_relationships_inherit_owner_on_relationships = PGTrigger(
        schema="public",
        signature="inherit_owner_on_relationships",
        on_entity="public.relationships",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.relationships FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.create_entity(public_relationships_inherit_owner_on_relationships)

    public_chapter_complexity_inherit_owner_on_chapter_complexity = PGTrigger(
        schema="public",
        signature="inherit_owner_on_chapter_complexity",
        on_entity="public.chapter_complexity",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.chapter_complexity FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.create_entity(public_chapter_complexity_inherit_owner_on_chapter_complexity)

    public_courses_propagate_owner_from_courses = PGTrigger(
        schema="public",
        signature="propagate_owner_from_courses",
        on_entity="public.courses",
        is_constraint=False,
        definition="AFTER UPDATE OF user_id ON public.courses FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.create_entity(public_courses_propagate_owner_from_courses)

    public_course_documents_propagate_owner_from_course_documents = PGTrigger(
        schema="public",
        signature="propagate_owner_from_course_documents",
        on_entity="public.course_documents",
        is_constraint=False,
        definition="AFTER UPDATE ON public.course_documents FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.course_id IS DISTINCT FROM NEW.course_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.create_entity(public_course_documents_propagate_owner_from_course_documents)

    public_processed_documents_propagate_owner_from_processed_documents = PGTrigger(
        schema="public",
        signature="propagate_owner_from_processed_documents",
        on_entity="public.processed_documents",
        is_constraint=False,
        definition="AFTER UPDATE ON public.processed_documents FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.create_entity(public_processed_documents_propagate_owner_from_processed_documents)

    public_chapters_propagate_owner_from_chapters = PGTrigger(
        schema="public",
        signature="propagate_owner_from_chapters",
        on_entity="public.chapters",
        is_constraint=False,
        definition="AFTER UPDATE ON public.chapters FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.create_entity(public_chapters_propagate_owner_from_chapters)


def downgrade() -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
    public_chapters_propagate_owner_from_chapters = PGTrigger(
        schema="public",
        signature="propagate_owner_from_chapters",
        on_entity="public.chapters",
        is_constraint=False,
        definition="AFTER UPDATE ON public.chapters FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.drop_entity(public_chapters_propagate_owner_from_chapters)

    public_processed_documents_propagate_owner_from_processed_documents = PGTrigger(
        schema="public",
        signature="propagate_owner_from_processed_documents",
        on_entity="public.processed_documents",
        is_constraint=False,
        definition="AFTER UPDATE ON public.processed_documents FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.drop_entity(public_processed_documents_propagate_owner_from_processed_documents)

    public_course_documents_propagate_owner_from_course_documents = PGTrigger(
        schema="public",
        signature="propagate_owner_from_course_documents",
        on_entity="public.course_documents",
        is_constraint=False,
        definition="AFTER UPDATE ON public.course_documents FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.course_id IS DISTINCT FROM NEW.course_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.drop_entity(public_course_documents_propagate_owner_from_course_documents)

    public_courses_propagate_owner_from_courses = PGTrigger(
        schema="public",
        signature="propagate_owner_from_courses",
        on_entity="public.courses",
        is_constraint=False,
        definition="AFTER UPDATE OF user_id ON public.courses FOR EACH ROW\n    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id)\n    EXECUTE FUNCTION public.propagate_concept_map_owner()",
    )
    op.drop_entity(public_courses_propagate_owner_from_courses)

    public_chapter_complexity_inherit_owner_on_chapter_complexity = PGTrigger(
        schema="public",
        signature="inherit_owner_on_chapter_complexity",
        on_entity="public.chapter_complexity",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.chapter_complexity FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.drop_entity(public_chapter_complexity_inherit_owner_on_chapter_complexity)

    public_relationships_inherit_owner_on_relationships = PGTrigger(
        schema="public",
        signature="inherit_owner_on_relationships",
        on_entity="public.relationships",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.relationships FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.drop_entity(public_relationships_inherit_owner_on_relationships)

    public_keywords_inherit_owner_on_keywords = PGTrigger(
        schema="public",
        signature="inherit_owner_on_keywords",
        on_entity="public.keywords",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, chapter_id ON public.keywords FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.drop_entity(public_keywords_inherit_owner_on_keywords)

    public_chapters_inherit_owner_on_chapters = PGTrigger(
        schema="public",
        signature="inherit_owner_on_chapters",
        on_entity="public.chapters",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, processed_id ON public.chapters FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.drop_entity(public_chapters_inherit_owner_on_chapters)

    public_processed_documents_inherit_owner_on_processed_documents = PGTrigger(
        schema="public",
        signature="inherit_owner_on_processed_documents",
        on_entity="public.processed_documents",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, document_id, course_id ON public.processed_documents FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.drop_entity(public_processed_documents_inherit_owner_on_processed_documents)

    public_course_documents_inherit_owner_on_course_documents = PGTrigger(
        schema="public",
        signature="inherit_owner_on_course_documents",
        on_entity="public.course_documents",
        is_constraint=False,
        definition="BEFORE INSERT OR UPDATE OF user_id, course_id ON public.course_documents FOR EACH ROW\n    EXECUTE FUNCTION public.inherit_concept_map_owner()",
    )
    op.drop_entity(public_course_documents_inherit_owner_on_course_documents)

    public_propagate_concept_map_owner = PGFunction(
        schema="public",
        signature="propagate_concept_map_owner()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    CASE TG_TABLE_NAME\n        WHEN 'courses' THEN\n            UPDATE public.course_documents SET user_id = NEW.user_id\n            WHERE course_id = NEW.course_id AND user_id IS DISTINCT FROM NEW.user_id;\n        WHEN 'course_documents' THEN\n            UPDATE public.processed_documents SET user_id = NEW.user_id, course_id = NEW.course_id\n            WHERE document_id = NEW.document_id\n                AND (user_id, course_id) IS DISTINCT FROM (NEW.user_id, NEW.course_id);\n        WHEN 'processed_documents' THEN\n            UPDATE public.chapters SET user_id = NEW.user_id\n            WHERE processed_id = NEW.processed_id AND user_id IS DISTINCT FROM NEW.user_id;\n        ELSE\n            UPDATE public.keywords SET user_id = NEW.user_id\n            WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;\n            UPDATE public.relationships SET user_id = NEW.user_id\n            WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;\n            UPDATE public.chapter_complexity SET user_id = NEW.user_id\n            WHERE chapter_id = NEW.chapter_id AND user_id IS DISTINCT FROM NEW.user_id;\n    END CASE;\n    RETURN NULL;\nEND;\n$$",
    )
    op.drop_entity(public_propagate_concept_map_owner)

    public_inherit_concept_map_owner = PGFunction(
        schema="public",
        signature="inherit_concept_map_owner()",
        definition="returns trigger\nLANGUAGE plpgsql\nSECURITY INVOKER\nSET search_path = pg_catalog, public\nAS $$\nBEGIN\n    CASE TG_TABLE_NAME\n        WHEN 'course_documents' THEN\n            NEW.user_id := (\n                SELECT c.user_id FROM public.courses c WHERE c.course_id = NEW.course_id\n            );\n        WHEN 'processed_documents' THEN\n            NEW.user_id := (\n                SELECT d.user_id FROM public.course_documents d\n                WHERE d.document_id = NEW.document_id AND d.course_id = NEW.course_id\n            );\n        WHEN 'chapters' THEN\n            NEW.user_id := (\n                SELECT pd.user_id FROM public.processed_documents pd\n                WHERE pd.processed_id = NEW.processed_id\n            );\n        ELSE\n            NEW.user_id := (\n                SELECT ch.user_id FROM public.chapters ch WHERE ch.chapter_id = NEW.chapter_id\n            );\n    END CASE;\n    RETURN NEW;\nEND;\n$$",
    )
    op.drop_entity(public_inherit_concept_map_owner)

    for table in reversed(CONCEPT_MAP_TABLES):
        op.drop_column(table, "user_id")

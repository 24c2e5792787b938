"""The models from AsyncSession through async_learner_session: relationships loaded
eagerly (lazy loading raises under asyncio), vector columns, and the same
per-transaction context as learner_session."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import selectinload

from sensa_db.database import make_async_engine
from sensa_db.models import Course, CourseDocument, ProcessedDocument
from sensa_db.request_context import async_learner_session
from sensa_db.security import APP_ROLE
from tests.factories import EMBEDDING
from tests.rls import SeededLearner, as_login


def test_a_learners_graph_loads_eagerly_through_an_async_learner_session(
    shared_database: str, test_logins: None, learners: tuple[SeededLearner, SeededLearner]
) -> None:
    first, _ = learners

    async def scenario() -> None:
        engine = make_async_engine(as_login(shared_database, APP_ROLE))
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            async with async_learner_session(sessions, first.user_id) as session:
                courses = (
                    await session.scalars(
                        select(Course).options(
                            selectinload(Course.documents)
                            .selectinload(CourseDocument.processed_document)
                            .selectinload(ProcessedDocument.chapters)
                        )
                    )
                ).all()
                assert [course.course_id for course in courses] == [first.course_id]
                [document] = courses[0].documents
                processed = document.processed_document
                assert processed is not None
                assert [chapter.chapter_id for chapter in processed.chapters] == [first.chapter_id]
                assert list(processed.embedding) == pytest.approx(EMBEDDING)
                await session.commit()
                # A new transaction of the same session is named again.
                assert await session.scalar(text("SELECT current_learner_id()")) == first.user_id
                lazy = await session.get(Course, first.course_id)
                assert lazy is not None
                with pytest.raises(StatementError, match="greenlet_spawn has not been called"):
                    _ = lazy.processed_documents
            async with sessions() as anonymous:
                assert (await anonymous.scalars(select(Course.course_id))).all() == []
        finally:
            await engine.dispose()

    asyncio.run(scenario())

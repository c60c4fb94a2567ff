"""MongoDB backend: Beanie documents on PyMongo's async client."""

from app.storage.mongo.connect import open_mongo_storage

__all__ = ["open_mongo_storage"]

"""Synchronous processing, answered by the executor's serve pool: `POST /result`."""

from fastapi import APIRouter

router = APIRouter()

"""Routes answered by the processes service: `GET /processes`, `POST /validation`."""

from fastapi import APIRouter

router = APIRouter()

"""Batch jobs, answered by the jobs service: `/jobs` and below."""

from fastapi import APIRouter

router = APIRouter()

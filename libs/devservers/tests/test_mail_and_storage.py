"""The SMTP catcher and the S3-compatible store the notification and report services run against."""

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import boto3
import pytest

from pfms_devservers import S3, Smtp, Stack, free_port


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    server = Smtp(tmp_path, free_port())
    server.start()
    server.wait(30)
    yield server
    server.stop()


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[S3]:
    server = S3(tmp_path, free_port())
    server.start()
    server.wait(30)
    yield server
    server.stop()


def test_every_message_sent_can_be_read_back_in_order(smtp: Smtp) -> None:
    assert smtp.messages() == []
    for n in (1, 2):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "pfms@example.com", "ada@example.com", f"n{n}"
        message.set_content(f"Budget at {n * 50} %")
        with smtplib.SMTP(smtp.host, smtp.port) as client:
            client.send_message(message)
    received = smtp.messages()
    assert [m["Subject"] for m in received] == ["n1", "n2"]
    assert received[1].get_content().strip() == "Budget at 100 %"


def test_objects_round_trip_through_the_store(s3: S3) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name=s3.region,
    )
    client.create_bucket(Bucket="reports-test")
    client.put_object(Bucket="reports-test", Key="a.csv", Body=b"total,12.50\n")
    assert client.get_object(Bucket="reports-test", Key="a.csv")["Body"].read() == b"total,12.50\n"


def test_services_get_the_addresses_their_settings_ask_for(tmp_path: Path) -> None:
    stack = Stack.create(tmp_path, fast=True)
    assert stack.settings_for(["database_url"]) == {}
    assert stack.settings_for(["smtp_host", "smtp_port"]) == {"smtp_host": "127.0.0.1", "smtp_port": stack.smtp.port}
    storage = stack.settings_for(["s3_endpoint_url"])
    assert storage["s3_endpoint_url"] == stack.s3.endpoint_url and storage["s3_access_key"] == "test"

from pathlib import Path

from console.config import Profile
from console.paths import Paths
from console.secrets import MemoryBackend, SecretStore
from console.services.transfer import settings_for_profile


def test_production_ftps_settings_take_the_profiles_ca_file():
    profile = Profile(name="prod", values={"transfer_protocol": "ftps", "transfer_host": "ftp.example.com",
                                           "transfer_user": "city", "transfer_ca_file": "/etc/city/ca.pem"})
    settings = settings_for_profile(profile, SecretStore("prod", backend=MemoryBackend()), Paths.default())
    assert settings.ca_file == Path("/etc/city/ca.pem")
    assert settings.protocol == "ftps" and settings.port == 21


def test_without_a_ca_file_the_system_store_is_used():
    profile = Profile(name="prod", values={"transfer_protocol": "ftps", "transfer_host": "h", "transfer_user": "u"})
    settings = settings_for_profile(profile, SecretStore("prod", backend=MemoryBackend()), Paths.default())
    assert settings.ca_file is None

"""Info.plist entries of "Dataset Vault.app" (imported by dataset-vault-macos.spec).

Finder learns from these that *.age files are "age encrypted file" documents owned by
the app (double-click opens them; the app offers to unlock) and that any other file
may be opened with it (drop on the Dock icon / Open With: the app offers to lock it).
Kept as plain data so tests/test_packaging_files.py can check it without macOS.
"""

from __future__ import annotations

from typing import Any

BUNDLE_ID = "org.datasetvault.DatasetVault"
# age defines no UTI, so the app exports its own, conforming to public.data.
AGE_UTI = "org.datasetvault.age-encrypted"
ICON_FILE = "dataset-vault.icns"


def info_plist(version: str) -> dict[str, Any]:
    return {
        "CFBundleName": "Dataset Vault",
        "CFBundleDisplayName": "Dataset Vault",
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "LSMinimumSystemVersion": "12.0",
        "LSApplicationCategoryType": "public.app-category.utilities",
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,  # follow the system's dark mode
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": "age encrypted file",
                "CFBundleTypeRole": "Editor",
                "LSHandlerRank": "Owner",
                "LSItemContentTypes": [AGE_UTI],
                "CFBundleTypeIconFile": ICON_FILE,
            },
            {
                # Any file can be dropped on the app to be locked; "Alternate" keeps the
                # app out of the way as a default for other types.
                "CFBundleTypeName": "File to lock",
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Alternate",
                "LSItemContentTypes": ["public.data"],
            },
        ],
        "UTExportedTypeDeclarations": [
            {
                "UTTypeIdentifier": AGE_UTI,
                "UTTypeDescription": "age encrypted file",
                "UTTypeConformsTo": ["public.data"],
                "UTTypeIconFile": ICON_FILE,
                "UTTypeReferenceURL": "https://age-encryption.org/v1",
                "UTTypeTagSpecification": {
                    "public.filename-extension": ["age"],
                    "public.mime-type": ["application/x-age-encrypted"],
                },
            },
        ],
    }

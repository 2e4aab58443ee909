from setuptools import find_packages, setup

setup(
    name="amuse",
    version="0.1.0",
    description="Music audio-visual question answering: the Amuse method and its baselines, "
                "from mp4 files to per-question-type accuracy tables.",
    python_requires=">=3.11",
    packages=find_packages(include=["amuse_cli", "amuse_cli.*"]),
    package_data={"amuse_cli": ["reference/*.yaml"]},
    install_requires=[
        # Installed in one pip command so pip cannot pull another torch build.
        "torch==2.11.0",
        "torchvision==0.26.0",
        "torchaudio==2.11.0",
        "av>=14",
        "click>=8.1",
        "rich>=13",
        "pyyaml>=6",
        "scikit-learn>=1.4",
        "numpy>=1.26",
        "librosa>=0.10",
        "safetensors>=0.4",
    ],
    extras_require={
        "test": ["pytest>=8", "matplotlib>=3.8"],  # matplotlib: `amuse report --plot` is tested
        "plot": ["matplotlib>=3.8"],
    },
    entry_points={"console_scripts": ["amuse = amuse_cli.cli:main"]},
)

#!/bin/sh
# Build DOCKERFILE and push it as IMAGE (<registry>/<repository>:<tag>) unless the ECR repository
# already holds that tag. CI calls it with the commit SHA as tag: the training image
# (Dockerfile) in each environment's training repository, and from level 3 the serving image
# (Dockerfile.serve). ECR tags are immutable here, so a second push of a tag would fail: a re-run
# of the same commit finds its image and stops. Needs the AWS CLI with the environment's
# credentials and docker logged in to the registry.
#
#   sh deploy/push-image.sh Dockerfile 123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-dev-training:<sha>
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: sh deploy/push-image.sh DOCKERFILE REGISTRY/REPOSITORY:TAG" >&2
    exit 2
fi
dockerfile=$1
image=$2
path=${image#*/}         # <repository>:<tag>
repository=${path%:*}
tag=${path##*:}
if [ "$path" = "$image" ] || [ "$repository" = "$path" ] || [ -z "$repository" ] || [ -z "$tag" ]; then
    echo "push-image.sh: '$image' is not REGISTRY/REPOSITORY:TAG" >&2
    exit 2
fi

if found=$(aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$tag" \
    --query "imageDetails[0].imageDigest" --output text 2>&1); then
    echo "$image is already in the repository ($found): not built again"
    exit 0
fi
case $found in
    *ImageNotFoundException*) ;;  # the tag is new: build and push it
    *)  # anything else (no access, no such repository) is an error, not a reason to push
        echo "$found" >&2
        exit 1
        ;;
esac
docker build --file "$dockerfile" --tag "$image" .
docker push "$image"
echo "pushed $image"
